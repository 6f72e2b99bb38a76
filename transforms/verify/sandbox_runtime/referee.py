"""The judge's side of a test run (trusted), in a process of its own; the program's side is `harness.py`.

The judge runs the tests against stand-ins (`Remote`) of the program's functions and classes; each call
crosses to the program and its result comes back as plain data (see `wire.py`), so every comparison,
`assert` and exception check runs in the judge's own interpreter, untouched by the program. The judge
reports each test on a channel only it holds and ends with the run's secret (a trailer the zygote
checks), so a report can be neither forged nor cut short without the zygote noticing.

Comparing, hashing or testing the truth of an object of the program's own class would let the program
decide the outcome (`__eq__` that always answers True); such a test is `unverifiable`, never passed.
"""

import builtins
import importlib
import sys
import types

from wire import DataValue, Unverifiable, WireError, decode, describe, encode, recv, send


class ProgramGone(Exception):
    """The program's process exited, was killed, or broke the channel during a call."""


class RemoteError(Exception):
    """An exception of the program's own class, raised during a call."""


def _refuse(operation):
    def method(self, *args):
        custom = object.__getattribute__(self, "_custom")
        kind = object.__getattribute__(self, "_type")
        versus_plain = not (args and type(args[0]) in (Remote, DataValue))
        raise Unverifiable(f"the test applied {operation} to a {kind} object of the program's; only plain "
                           f"values are compared", custom, versus_plain)
    return method


class Remote:
    """The judge's stand-in for one of the program's objects (a function, class, instance, iterator)."""

    __slots__ = ("_channel", "_id", "_type", "_custom")

    def __init__(self, channel, handle):
        object.__setattr__(self, "_channel", channel)
        object.__setattr__(self, "_id", handle.id)
        object.__setattr__(self, "_type", handle.type_name)
        object.__setattr__(self, "_custom", handle.custom)

    def _ask(self, op, args=(), kwargs=None, **extra):
        return object.__getattribute__(self, "_channel").request(
            op, object.__getattribute__(self, "_id"), args, kwargs or {}, **extra)

    def __call__(self, *args, **kwargs):
        return self._ask("call", args, kwargs)

    def __getattr__(self, name):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return self._ask("getattr", n=name)

    def __setattr__(self, name, value):
        self._ask("setattr", (value,), n=name)

    def __iter__(self):
        return self._ask("iter")

    def __next__(self):
        return self._ask("next")

    def __len__(self):
        size = self._ask("len")
        if type(size) is not int:
            raise Unverifiable("len() of the program's object is not an int")
        return size

    def __getitem__(self, key):
        return self._ask("getitem", (key,))

    def __repr__(self):
        return f"<{object.__getattribute__(self, '_type')} of the program's>"

    __eq__ = _refuse("==")
    __ne__ = _refuse("!=")
    __lt__ = _refuse("<")
    __le__ = _refuse("<=")
    __gt__ = _refuse(">")
    __ge__ = _refuse(">=")
    __bool__ = _refuse("truth testing")
    __hash__ = _refuse("hash()")
    __contains__ = _refuse("`in`")
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _refuse("arithmetic")
    __truediv__ = __floordiv__ = __mod__ = __pow__ = __abs__ = __neg__ = _refuse("arithmetic")
    __float__ = __int__ = __index__ = __round__ = _refuse("a numeric conversion")


def _builtin_exception(name):
    found = getattr(builtins, name, None)
    if isinstance(found, type) and issubclass(found, Exception) and found.__module__ == "builtins":
        return found
    return None


def _exception_type(name, base="Exception"):
    """The judge's class for an exception the program raised: the builtin itself, or a subclass of its
    nearest builtin base (so `except ValueError` catches a program's `class BadInput(ValueError)`)."""
    found = _builtin_exception(name)
    if found is not None:
        return found
    parent = _builtin_exception(base) or Exception
    if not name.isidentifier():
        name = "RemoteError"
    return type(name[:100], (RemoteError, parent) if parent is not Exception else (RemoteError,), {})


class Channel:
    """The judge's end of the request/reply channel to the program."""

    def __init__(self, requests_fd, replies_fd):
        self.requests_fd, self.replies_fd = requests_fd, replies_fd
        self.next_id = 0
        self.gone = None

    def wrap(self, handle):
        return Remote(self, handle)

    def _ref(self, value):
        if type(value) is Remote:
            return object.__getattribute__(value, "_id")
        if type(value) is DataValue and type(value.remote) is Remote:
            return object.__getattribute__(value.remote, "_id")
        raise Unverifiable(f"a test passed a {type(value).__name__} to the program; only plain values cross")

    def hello(self):
        try:
            return recv(self.replies_fd)
        except (EOFError, WireError, OSError) as exc:
            raise ProgramGone(f"the program did not load: {exc}") from None

    def request(self, op, handle_id, args, kwargs, **extra):
        if self.gone:
            raise ProgramGone(self.gone)
        self.next_id += 1
        message = {"id": self.next_id, "op": op, "h": handle_id, **extra}
        try:
            message["a"] = [encode(a, [], ref=self._ref) for a in args]
            message["k"] = {str(k): encode(v, [], ref=self._ref) for k, v in kwargs.items()}
        except (ValueError, RecursionError) as exc:
            raise Unverifiable(f"an argument cannot be sent to the program: {exc}") from None
        try:
            send(self.requests_fd, message)
            reply = recv(self.replies_fd)
            if type(reply) is not dict or reply.get("id") != self.next_id:
                raise WireError("a reply that does not answer the request (something else wrote to the channel)")
            if "raise" in reply:
                name, text, base = (list(reply["raise"]) + ["", "", "Exception"])[:3]
                if op != "next" and "Stop" in str(base) + str(name):
                    name = base = "RemoteError"  # only a `next` may end an iteration in the judge (map/all/any)
                raise _exception_type(str(name), str(base))(str(text)[:500])
            return decode(reply["v"], self.wrap)
        except (EOFError, OSError) as exc:
            self.gone = f"the program exited or was killed during a call ({exc})"
        except WireError as exc:
            self.gone = f"protocol violation: {exc}"
        raise ProgramGone(self.gone)


def judge(tests, entry_point, requests_fd, replies_fd, report, nonce):
    """Run every test against the program; `report(dict)` per test, then the trailer with `nonce`."""
    sys.set_int_max_str_digits(0)
    sys.setrecursionlimit(20_000)  # deep values and recursive tests
    channel = Channel(requests_fd, replies_fd)
    try:
        hello = channel.hello()
    except ProgramGone as exc:
        report({"test": -1, "ok": False, "error": str(exc), "gone": True})
        report({"done": nonce})
        return 0
    if type(hello) is not dict or "load_error" in hello or type(hello.get("names")) is not dict:
        if type(hello) is not dict or "load_error" not in hello:
            report({"test": -1, "ok": False, "error": "the program's first message is not a hello", "protocol": True})
            report({"done": nonce})
            return 0
        report({"test": -1, "ok": False, "error": str(hello.get("load_error", "bad hello"))[:500]})
        report({"done": nonce})
        return 0
    try:
        namespace = _namespace(hello["names"], channel, reserved_names(tests, entry_point))
    except Exception as exc:  # noqa: BLE001 - whatever the program sent, it is its protocol failure, never ours
        report({"test": -1, "ok": False, "error": f"the program published bad names: {exc}"[:300], "protocol": True})
        report({"done": nonce})
        return 0
    for index, test in enumerate(tests):
        report(_run_test(index, test, namespace, entry_point, channel))
    report({"done": nonce})
    return 0


def reserved_names(tests, entry_point):
    """Names a program may not publish into the tests' namespace: the builtins (a program's `abs` or
    `sorted` would otherwise decide `abs(f(x) - y) < 1e-6`), except the entry point; and standard modules
    the tests use as modules (`math.isclose(...)` gets the real `math`, not the program's object). A
    function that merely shares a module's name (`def chunk(xs, n)`) stays the program's."""
    import ast

    reserved = set(dir(builtins)) - {entry_point}
    for test in tests:
        try:
            tree = ast.parse(test)
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                if node.value.id.split(".")[0] in sys.stdlib_module_names:
                    reserved.add(node.value.id)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                reserved.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return reserved


def _namespace(names, channel, reserved):
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    module = types.ModuleType("solution")
    for name, node in names.items():
        name = str(name)
        if not name.isidentifier() or name.startswith("__"):
            continue  # `__builtins__` and the like would decide every builtin the tests call
        if type(node) is list and node[:1] == ["mod"]:
            # The judge imports the same standard module itself; a program's own module is not shared.
            top = str(node[1]).split(".")[0]
            value = importlib.import_module(str(node[1])) if top in sys.stdlib_module_names else None
            if value is not None and name in reserved and name != str(node[1]).split(".")[-1]:
                value = None
        elif name in reserved:
            value = None
            if name in sys.stdlib_module_names:  # the tests use it as a module: the judge's own import
                try:
                    value = importlib.import_module(name)
                except ImportError:
                    value = None
        else:
            value = decode(node, channel.wrap)
        if value is not None:
            namespace[name] = value
            setattr(module, name, value)
    sys.modules["solution"] = module
    return namespace


def _run_test(index, test, namespace, entry_point, channel):
    # Names the test itself (re)binds, by identity: the program may publish `test_basic` or `check` too,
    # and a test that redefines one must still run (a name-set difference would skip it).
    before = dict(namespace)
    missing = object()
    try:
        exec(compile(test, f"test_{index}.py", "exec"), namespace)
        added = sorted(name for name in namespace if before.get(name, missing) is not namespace[name])
        for name in added:
            if name.startswith("test_") and callable(namespace[name]):
                namespace[name]()
        if "check" in added and callable(namespace["check"]):
            if not entry_point or entry_point not in namespace:
                raise Unverifiable("a check(candidate) test needs the entry point (tests.entry_point) the program "
                                   "defines", versus_plain=False)
            namespace["check"](namespace[entry_point])  # HumanEval: check(candidate)
        return {"test": index, "ok": True}
    except Unverifiable as exc:
        return {"test": index, "ok": False, "error": str(exc), "unverifiable": True, "custom": exc.custom,
                "versus_plain": exc.versus_plain}
    except ProgramGone as exc:
        return {"test": index, "ok": False, "error": str(exc), "gone": True,
                "protocol": str(exc).startswith("protocol violation")}
    except MemoryError:
        return {"test": index, "ok": False, "error": "MemoryError in the judge"}
    except BaseException as exc:  # an assertion failed, or the program raised: the test failed
        return {"test": index, "ok": False, "error": describe(exc)}
