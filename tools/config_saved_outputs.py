"""Write the book's configuration with notebook execution off, for `make test`'s site build.

    python tools/config_saved_outputs.py _build/config-saved-outputs.yml

The build then renders the outputs saved in the notebooks. `make test` proves separately that
executing the notebooks gives those outputs (the seed-0 nbval job), so its site build need not
execute them a second time; `make book` still does. Paths in the configuration that Jupyter Book
reads relative to the configuration file (the local Sphinx extensions) are made absolute, since
the copy lives elsewhere.
"""

import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]


def main(destination: str) -> None:
    config = yaml.safe_load((REPO / "_config.yml").read_text())
    config["execute"]["execute_notebooks"] = "off"
    extensions = config["sphinx"]["local_extensions"]
    for name, folder in extensions.items():
        extensions[name] = str(REPO / folder)
    path = Path(destination)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(config, sort_keys=False))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
