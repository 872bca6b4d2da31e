"""The release-gate suite, for running from a checkout: ``pytest suites``.

The tests live in :mod:`tflbench.suites.test_release` so installed users run the same suite with
``tflbench test`` or ``pytest --pyargs tflbench.suites``. Copy this file into your own test
folder to run the gates together with your tests.
"""

from tflbench.suites.test_release import *  # noqa: F401,F403
