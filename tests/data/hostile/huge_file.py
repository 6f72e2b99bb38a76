# expect: output_limit
with open("big.bin", "wb") as f:
    f.write(b"x" * 50_000_000)
