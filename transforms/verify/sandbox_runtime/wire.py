"""The values that cross from a program to the judge: exact builtin types, nothing with behaviour.

The program's side (`encode`) turns a value into tagged JSON; the judge's side (`decode`) builds fresh
objects of exact builtin types from it. Whatever the program sends, the judge ends up holding plain data
whose `==`, `bool` and ordering are Python's own: an `int` subclass whose `__eq__` always answers True
arrives as its integer value, and an object of the program's own class arrives as a `Handle` the judge
refuses to compare (see `referee.Remote`). Frames are length-prefixed and capped.
"""

import collections
import dataclasses
import decimal
import fractions
import json
import os
import struct

MAX_FRAME = 16 << 20
MAX_DEPTH = 2000


class Unverifiable(Exception):
    """The test asked something only the program's own code could answer (equality of its objects)."""

    def __init__(self, message, custom=(), versus_plain=True):
        super().__init__(message)
        self.custom = list(custom)
        self.versus_plain = versus_plain  # False when both sides were the program's objects


class WireError(Exception):
    """A frame that is not a well-formed message (the program wrote to the channel, or died mid-write)."""


def send(fd, message):
    data = json.dumps(message, separators=(",", ":")).encode()
    if len(data) > MAX_FRAME:
        raise WireError(f"message of {len(data)} bytes is over the {MAX_FRAME}-byte cap")
    frame = struct.pack(">I", len(data)) + data
    view = memoryview(frame)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _read_exact(fd, size):
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError("the other side closed the channel")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def recv(fd):
    (size,) = struct.unpack(">I", _read_exact(fd, 4))
    if size > MAX_FRAME:
        raise WireError(f"frame of {size} bytes is over the cap")
    try:
        return json.loads(_read_exact(fd, size))
    except (ValueError, RecursionError) as exc:
        raise WireError(f"frame is not JSON: {exc}") from None


# ---- the program's side -------------------------------------------------------------------------

def encode(value, handles, depth=0, seen=None, ref=None):
    """Tagged JSON of `value`; objects that are not plain data become handles (ids into `handles`).

    `ref` (the judge's side) maps a stand-in of the program's object back to its id, as ["ref", id].
    """
    if depth > MAX_DEPTH:
        raise ValueError("value nested too deeply")
    kind = type(value)
    if value is None or kind is bool or kind is str:
        return value
    if kind is int:
        return ["i", format(value, "x")]
    if kind is float:
        return ["f", float.hex(value)]
    seen = seen if seen is not None else set()
    if id(value) in seen and kind in (list, dict, set, collections.deque, collections.OrderedDict):
        raise ValueError("value contains a reference cycle")
    seen.add(id(value))
    items = lambda xs: [encode(x, handles, depth + 1, seen, ref) for x in xs]  # noqa: E731
    pairs = lambda m: [[encode(k, handles, depth + 1, seen, ref), encode(v, handles, depth + 1, seen, ref)]  # noqa: E731
                       for k, v in m]
    if kind is list:
        return ["l", items(value)]
    if kind is tuple:
        return ["t", items(value)]
    if kind is dict:
        return ["d", pairs(value.items())]
    if kind is set:
        return ["s", items(value)]
    if kind is frozenset:
        return ["fs", items(value)]
    if kind is bytes:
        return ["b", value.hex()]
    if kind is bytearray:
        return ["ba", bytes(value).hex()]
    if kind is complex:
        return ["c", float.hex(value.real), float.hex(value.imag)]
    if kind is fractions.Fraction:
        return ["fr", format(value.numerator, "x"), format(value.denominator, "x")]
    if kind is decimal.Decimal:
        return ["dec", str(value)]
    if kind is range:
        return ["r", value.start, value.stop, value.step]
    if kind is collections.deque:
        return ["dq", items(value), value.maxlen]
    if kind is collections.Counter:
        return ["ctr", pairs(dict.items(value))]
    if kind is collections.OrderedDict:
        return ["od", pairs(value.items())]
    if kind is collections.defaultdict:
        return ["d", pairs(dict.items(value))]
    # Subclasses of plain types travel as their base value, read through the base type's own slots, so an
    # overridden __eq__, __iter__ or __str__ never decides what the judge sees.
    if isinstance(value, bool):
        return bool(int.__int__(value))
    if isinstance(value, int):
        return ["i", format(int.__int__(value), "x")]
    if isinstance(value, float):
        return ["f", float.hex(float.__float__(value))]
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, tuple):
        fields = getattr(kind, "_fields", None)
        if type(fields) is tuple and all(type(f) is str and f.isidentifier() for f in fields) and len(fields) == len(value):
            return ["nt", kind.__name__, list(fields), items(tuple.__iter__(value))]  # a namedtuple, rebuilt
        return ["t", items(tuple.__iter__(value))]
    if isinstance(value, list):
        return ["l", items(list.__iter__(value))]
    if isinstance(value, dict):
        return ["d", pairs(dict.items(value))]
    if ref is not None:
        return ["ref", ref(value)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = [[f.name, encode(getattr(value, f.name), handles, depth + 1, seen, ref)]
                  for f in dataclasses.fields(value)]
        handles.append(value)
        return ["dc", kind.__qualname__, fields, len(handles) - 1]
    handles.append(value)
    return ["h", len(handles) - 1, kind.__qualname__, _custom_dunders(kind)]


_TRUSTING = ("__eq__", "__ne__", "__bool__", "__len__", "__lt__", "__le__", "__gt__", "__ge__", "__hash__",
             "__contains__", "__abs__", "__sub__", "__add__", "__float__", "__int__", "__index__", "__str__",
             "__repr__")


def _custom_dunders(kind):
    """The comparison/truth methods a program's class defines itself: evidence when a test compares it."""
    found = []
    for name in _TRUSTING:
        for klass in kind.__mro__:
            if klass is object:
                break
            if name in vars(klass):
                found.append(name)
                break
    return found


# ---- the judge's side ---------------------------------------------------------------------------

class Handle:
    """An object that lives in the program's process. Only the judge's `Remote` wraps it."""

    __slots__ = ("id", "type_name", "custom")

    def __init__(self, id_, type_name, custom):
        self.id, self.type_name, self.custom = id_, type_name, custom


@dataclasses.dataclass(frozen=True, eq=False)
class DataValue:
    """A dataclass instance of the program's, as a value: its class name and fields, compared by the judge
    (as a dataclass's generated `__eq__` would); other attributes (methods) are looked up remotely."""

    type_name: str
    fields: tuple
    remote: object = dataclasses.field(default=None, compare=False, repr=False)

    def __eq__(self, other):
        # Both sides come from the program's code (its class decides the fields): never decided here.
        raise Unverifiable(f"the test compared a {self.type_name} object of the program's",
                           versus_plain=type(other) is not DataValue)

    __ne__ = __eq__
    __hash__ = None

    def __bool__(self):
        raise Unverifiable(f"the test tested the truth of a {self.type_name} object of the program's")

    def __len__(self):
        raise Unverifiable(f"the test took len() of a {self.type_name} object of the program's")

    def __contains__(self, item):
        raise Unverifiable(f"the test used `in` on a {self.type_name} object of the program's")

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        for key, value in self.fields:
            if key == name:
                return value
        if self.remote is not None:
            return getattr(self.remote, name)
        raise AttributeError(f"{self.type_name} has no field {name!r}")


_NAMEDTUPLES = {}


def _namedtuple(name, fields):
    """The judge's own namedtuple class (tuple's equality), made once per name and fields."""
    key = (name, fields)
    if key not in _NAMEDTUPLES:
        _NAMEDTUPLES[key] = collections.namedtuple(name, fields)
    return _NAMEDTUPLES[key]


def _int(text):
    if not isinstance(text, str) or len(text) > 1_000_000:
        raise WireError("bad integer")
    return int(text, 16)


def decode(node, wrap=lambda handle: handle, depth=0, refs=None):
    """Plain data from tagged JSON; `wrap` turns each Handle into the judge's stand-in object, and `refs`
    (the program's side) resolves ["ref", id] to its own object."""
    if depth > MAX_DEPTH + 5:
        raise WireError("value nested too deeply")
    if node is None or type(node) in (bool, str):
        return node
    if type(node) is not list or not node or type(node[0]) is not str:
        raise WireError(f"not a tagged value: {str(node)[:80]}")
    tag, rest = node[0], node[1:]
    sub = lambda xs: [decode(x, wrap, depth + 1, refs) for x in xs]  # noqa: E731
    try:
        if tag == "i":
            return _int(rest[0])
        if tag == "f":
            return float.fromhex(rest[0])
        if tag == "l":
            return sub(rest[0])
        if tag == "t":
            return tuple(sub(rest[0]))
        if tag == "nt":
            name = str(rest[0]) if str(rest[0]).isidentifier() else "Record"
            return _namedtuple(name, tuple(str(f) for f in rest[1]))(*sub(rest[2]))
        if tag == "d":
            return {decode(k, wrap, depth + 1, refs): decode(v, wrap, depth + 1, refs) for k, v in rest[0]}
        if tag == "s":
            return set(sub(rest[0]))
        if tag == "fs":
            return frozenset(sub(rest[0]))
        if tag == "b":
            return bytes.fromhex(rest[0])
        if tag == "ba":
            return bytearray.fromhex(rest[0])
        if tag == "c":
            return complex(float.fromhex(rest[0]), float.fromhex(rest[1]))
        if tag == "fr":
            return fractions.Fraction(_int(rest[0]), _int(rest[1]))
        if tag == "dec":
            return decimal.Decimal(str(rest[0]))
        if tag == "r":
            return range(int(rest[0]), int(rest[1]), int(rest[2]))
        if tag == "dq":
            return collections.deque(sub(rest[0]), None if rest[1] is None else int(rest[1]))
        if tag == "ctr":
            return collections.Counter({decode(k, wrap, depth + 1, refs): decode(v, wrap, depth + 1, refs) for k, v in rest[0]})
        if tag == "od":
            return collections.OrderedDict((decode(k, wrap, depth + 1, refs), decode(v, wrap, depth + 1, refs)) for k, v in rest[0])
        if tag == "dc":
            fields = tuple((str(k), decode(v, wrap, depth + 1, refs)) for k, v in rest[1])
            return DataValue(str(rest[0])[:200], fields, wrap(Handle(int(rest[2]), str(rest[0])[:200], [])))
        if tag == "ref" and refs is not None:
            return refs[int(rest[0])]
        if tag == "h":
            return wrap(Handle(int(rest[0]), str(rest[1])[:200], [str(x) for x in rest[2]][:40]))
    except WireError:
        raise
    except (TypeError, ValueError, IndexError, OverflowError, MemoryError, decimal.InvalidOperation,
            ZeroDivisionError) as exc:
        raise WireError(f"bad {tag!r} value: {exc}") from None
    raise WireError(f"unknown tag {tag!r}")


def describe(exc):
    """An exception as one short line of text: its type and message, the end kept."""
    import traceback

    return "".join(traceback.format_exception_only(type(exc), exc)).strip()[-500:] or type(exc).__name__
