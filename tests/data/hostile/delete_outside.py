# expect: forbidden
import os
os.remove("/etc/hostname")
