# expect: forbidden
import os
with open(os.path.expanduser("~/../../prefmill-hostile-marker"), "w") as f:
    f.write("escaped")
