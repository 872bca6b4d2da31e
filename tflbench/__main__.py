import sys

from tflbench.cli import main

sys.exit(main())
