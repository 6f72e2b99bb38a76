# expect: crash
import sys
sys.exit(7)
