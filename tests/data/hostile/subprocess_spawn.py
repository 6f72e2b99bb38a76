# expect: forbidden
import subprocess
subprocess.run(["touch", "/tmp/prefmill-hostile-marker"])
