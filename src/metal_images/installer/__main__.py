"""`python3 -m metal_images.installer` (inside an image the zipapp's __main__ calls the same)."""

import sys

from .main import main

sys.exit(main())
