# expect: forbidden
import os
print(open(f"/proc/{os.getppid()}/environ").read())
