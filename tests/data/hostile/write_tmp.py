# expect: ok
with open("/tmp/prefmill-hostile-marker", "w") as f:
    f.write("escaped")
