# expect: forbidden
import ctypes
ctypes.CDLL(None).fork()
