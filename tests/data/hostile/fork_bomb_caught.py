# expect: forbidden
import os
for _ in range(1000):
    try:
        os.fork()
    except OSError:
        pass
print("still here")
