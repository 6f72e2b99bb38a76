"""Code that runs *inside* the code sandbox: stdlib only, loaded by the sandbox's own interpreter.

Nothing in the pipeline imports these modules; `prefmill.transforms.verify.sandbox` starts them in a
bubblewrap container (see `zygote.py` for the layers).
"""
