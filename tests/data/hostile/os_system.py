# expect: forbidden
import os
os.system("touch /tmp/prefmill-hostile-marker")
