"""Recipe files: a tuned mode saved as data (``tflbench tune`` writes them, projects commit them).

A recipe file names a base mode of the registry and the Keras layers kept in float. CI converts
exactly that configuration from then on: list the file among the project's modes
(``modes = ["fp32", "int8", "quant/int8-tuned.json"]``) or on the command line
(``--modes fp32,quant/int8-tuned.json``). JSON is written; JSON and TOML are read::

    {"format": "tflbench.quantization-recipe", "version": 1, "name": "int8-tuned",
     "base": "int8", "float_layers": ["squash"]}
"""

from __future__ import annotations

from tflbench.modes import (  # noqa: F401 - recipe files live with the registry
    RECIPE_FORMAT,
    RECIPE_VERSION,
    load_recipe,
    mode_from_dict,
    recipe_dict,
    save_recipe,
    tuned_mode,
)

FORMAT, VERSION = RECIPE_FORMAT, RECIPE_VERSION
