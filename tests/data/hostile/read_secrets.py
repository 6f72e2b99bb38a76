# expect: ok
import os
print("SECRET=" + os.environ.get("PREFMILL_TEST_SECRET", "absent"))
print("KEYS=" + ",".join(sorted(os.environ)))
