# expect: memory
hog = bytearray(8 * 1024 ** 3)
