import sys

from watercooler.cli import main

sys.exit(main())
