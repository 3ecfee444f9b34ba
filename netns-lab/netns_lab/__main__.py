"""`python -m netns_lab ...`"""

import sys

from netns_lab.cli import main

sys.exit(main())
