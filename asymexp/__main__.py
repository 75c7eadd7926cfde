import sys

from asymexp.cli import main

sys.exit(main())
