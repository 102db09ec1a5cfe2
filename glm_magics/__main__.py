"""``python -m glm_magics record NOTEBOOK...``: see :mod:`glm_magics.notebook.lessons`."""

from __future__ import annotations

import sys

from glm_magics.notebook.lessons import main

if __name__ == "__main__":
    sys.exit(main())
