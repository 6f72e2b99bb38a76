# expect: memory
hog = []
while True:
    hog.append(bytearray(50 * 1024 ** 2))
