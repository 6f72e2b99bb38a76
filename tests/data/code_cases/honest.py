"""Honest corpus for the code verifier: correct programs that any sound harness must pass.

Each case is `{"name", "cls": "honest", "solution", "tests", "note"}`; `tests` follows `CodeTests`. The
solutions use what real answers use and what a strict harness could trip over: threads, mocks inside the
solution, classes and dataclasses, generators (also infinite ones), deep recursion, stdin programs (some
exit with sys.exit(0) after printing), collections results compared to dicts, exact tuple/list/set types,
big ints, bytes, floats with tolerances, expected exceptions, files in the working directory, asyncio, and
prints that look like a test report. Every case passes in plain CPython 3.11.
"""

from textwrap import dedent

CASES = [
    # ---- concurrency and mocks inside the solution ------------------------------------------------------
    {"name": "threads_join_partial_sums", "cls": "honest",
     "note": "four threading.Thread workers fill a shared list, joined before the sum is returned",
     "tests": {"asserts": ["assert parallel_sum_squares(list(range(1000))) == 332833500", "assert parallel_sum_squares([]) == 0",
                           "assert parallel_sum_squares([3, 4], workers=8) == 25"], "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        import threading

        def parallel_sum_squares(xs, workers=4):
            chunks = [xs[i::workers] for i in range(workers)]
            totals = [0] * workers
            def work(i):
                totals[i] = sum(x * x for x in chunks[i])
            threads = [threading.Thread(target=work, args=(i,)) for i in range(workers)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return sum(totals)
     ''')},
    {"name": "thread_pool_executor_map", "cls": "honest",
     "note": "concurrent.futures.ThreadPoolExecutor.map keeps input order",
     "tests": {"asserts": ["assert word_lengths(['a', 'bb', '', 'dddd']) == [1, 2, 0, 4]", "assert word_lengths([]) == []"],
               "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        from concurrent.futures import ThreadPoolExecutor

        def word_lengths(words):
            with ThreadPoolExecutor(max_workers=4) as pool:
                return list(pool.map(len, words))
     ''')},
    {"name": "thread_pool_lock_counter", "cls": "honest",
     "note": "eight pool tasks bump a lock-protected counter; as_completed collects their results",
     "tests": {"asserts": ["assert count_with_lock(8, 1000) == (8000, 8000)", "assert count_with_lock(1, 0) == (0, 0)"],
               "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        import threading
        from concurrent.futures import ThreadPoolExecutor, as_completed

        def count_with_lock(tasks, per_task):
            lock = threading.Lock()
            counter = [0]
            def bump():
                for _ in range(per_task):
                    with lock:
                        counter[0] += 1
                return per_task
            with ThreadPoolExecutor(max_workers=8) as pool:
                done = sum(f.result() for f in as_completed([pool.submit(bump) for _ in range(tasks)]))
            return counter[0], done
     ''')},
    {"name": "asyncio_gather", "cls": "honest",
     "note": "asyncio.run + gather inside the function (the event loop makes a socketpair for its self-pipe)",
     "tests": {"asserts": ["assert gather_squares([1, 2, 3]) == [1, 4, 9]", "assert gather_squares([]) == []"],
               "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        import asyncio

        async def _square(x):
            await asyncio.sleep(0)
            return x * x

        def gather_squares(xs):
            async def main():
                return list(await asyncio.gather(*(_square(x) for x in xs)))
            return asyncio.run(main())
     ''')},
    {"name": "magicmock_stand_in_dependency", "cls": "honest",
     "note": "the solution uses a unittest.mock.MagicMock as its mailer and reports what was sent",
     "tests": {"asserts": ["assert notify([{'name': 'Ann', 'email': 'ann@x.org'}, {'name': 'Bob'}]) == (1, ['ann@x.org'])",
                           "assert notify([]) == (0, [])"], "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        from unittest import mock

        def notify(users):
            mailer = mock.MagicMock()  # stand-in: nothing leaves the machine
            for user in users:
                if user.get("email"):
                    mailer.send(user["email"], subject="Hi " + user["name"])
            return mailer.send.call_count, [call.args[0] for call in mailer.send.call_args_list]
     ''')},
    {"name": "mock_patch_inside_solution", "cls": "honest",
     "note": "mock.patch('time.time') for the duration of one call, then restored",
     "tests": {"asserts": ["assert stamp('x') == 'x@1970-01-02'", "def test_restored():\n    import time\n"
                           "    stamp('y')\n    assert time.time() > 1e9"], "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        import time
        from unittest import mock

        def stamp(label):
            with mock.patch("time.time", return_value=86400.0):
                return "%s@%s" % (label, time.strftime("%Y-%m-%d", time.gmtime(time.time())))
     ''')},
    # ---- classes, dataclasses, generators ------------------------------------------------------------------
    {"name": "leetcode_two_sum_class", "cls": "honest",
     "note": "LeetCode-style class Solution with a method the tests call on a fresh instance",
     "tests": {"asserts": ["assert Solution().twoSum([2, 7, 11, 15], 9) == [0, 1]", "assert Solution().twoSum([3, 2, 4], 6) == [1, 2]",
                           "assert Solution().twoSum([3, 3], 6) == [0, 1]"], "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        from typing import List

        class Solution:
            def twoSum(self, nums: List[int], target: int) -> List[int]:
                seen = {}
                for i, x in enumerate(nums):
                    if target - x in seen:
                        return [seen[target - x], i]
                    seen[x] = i
                return []
     ''')},
    {"name": "leetcode_lru_cache_class", "cls": "honest",
     "note": "a stateful design-question class driven by a test function (LeetCode 146's example)",
     "tests": {"asserts": ["def test_lru():\n    c = LRUCache(2)\n    c.put(1, 1)\n    c.put(2, 2)\n    assert c.get(1) == 1\n"
                           "    c.put(3, 3)\n    assert c.get(2) == -1\n    c.put(4, 4)\n    assert c.get(1) == -1\n"
                           "    assert c.get(3) == 3\n    assert c.get(4) == 4"], "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        from collections import OrderedDict

        class LRUCache:
            def __init__(self, capacity):
                self.capacity = capacity
                self.data = OrderedDict()
            def get(self, key):
                if key not in self.data:
                    return -1
                self.data.move_to_end(key)
                return self.data[key]
            def put(self, key, value):
                self.data[key] = value
                self.data.move_to_end(key)
                if len(self.data) > self.capacity:
                    self.data.popitem(last=False)
     ''')},
    {"name": "dataclass_compared_by_attributes", "cls": "honest",
     "note": "returns a dataclass; the tests read its attributes",
     "tests": {"asserts": ["def test_summary():\n    s = summarize([1, 2, 3, 6], ['b', 'a', 'b'])\n    assert s.count == 4\n"
                           "    assert s.mean == 3.0\n    assert s.labels == ['a', 'b']", "assert summarize([]).count == 0"],
               "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        from dataclasses import dataclass, field

        @dataclass
        class Summary:
            count: int
            mean: float
            labels: list = field(default_factory=list)

        def summarize(values, labels=()):
            mean = sum(values) / len(values) if values else 0.0
            return Summary(len(values), mean, sorted(set(labels)))
     ''')},
    {"name": "namedtuple_result", "cls": "honest",
     "note": "returns a namedtuple: equal to a plain tuple and readable by field name",
     "tests": {"asserts": ["assert bounds([3, 1, 2]) == (1, 3)", "assert bounds([5]).high == 5", "assert bounds([4, 9]).low == 4"],
               "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        from collections import namedtuple

        Bounds = namedtuple("Bounds", "low high")

        def bounds(xs):
            return Bounds(min(xs), max(xs))
     ''')},
    {"name": "finite_generator", "cls": "honest",
     "note": "a generator function consumed with list() and next()",
     "tests": {"asserts": ["assert list(countdown(3)) == [3, 2, 1]", "assert list(countdown(0)) == []", "assert next(countdown(5)) == 5"],
               "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        def countdown(n):
            while n > 0:
                yield n
                n -= 1
     ''')},
    {"name": "infinite_generator_islice", "cls": "honest",
     "note": "an infinite generator: the tests take a prefix with itertools.islice or next",
     "tests": {"asserts": ["def test_first_primes():\n    from itertools import islice\n"
                           "    assert list(islice(primes(), 8)) == [2, 3, 5, 7, 11, 13, 17, 19]",
                           "def test_next():\n    g = primes()\n    assert next(g) == 2 and next(g) == 3"], "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        import itertools

        def primes():
            found = []
            for n in itertools.count(2):
                if all(n % p for p in found if p * p <= n):
                    found.append(n)
                    yield n
     ''')},
    # ---- recursion -----------------------------------------------------------------------------------------
    {"name": "recursion_depth_5000", "cls": "honest",
     "note": "raises the recursion limit to 10000 at import, recurses 900 and 5000 deep",
     "tests": {"asserts": ["assert depth(900) == 900", "assert depth(5000) == 5000"], "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        import sys

        sys.setrecursionlimit(10000)

        def depth(n):
            return 0 if n == 0 else 1 + depth(n - 1)
     ''')},
    {"name": "lru_cache_recursion_and_reduce", "cls": "honest",
     "note": "functools.lru_cache recursion 1500 deep (through the C wrapper) and functools.reduce",
     "tests": {"asserts": ["assert stairs(90) == 4660046610375530309", "assert stairs(1500) % 1000000007 == 289199695",
                           "assert product([1, 2, 3, 4]) == 24", "assert product([]) == 1"], "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        import operator
        import sys
        from functools import lru_cache, reduce

        sys.setrecursionlimit(10000)

        @lru_cache(maxsize=None)
        def stairs(n):
            return 1 if n < 2 else stairs(n - 1) + stairs(n - 2)

        def product(xs):
            return reduce(operator.mul, xs, 1)
     ''')},
    {"name": "deeply_nested_argument", "cls": "honest",
     "note": "the test passes a list nested 150 deep across the boundary; the solution measures it recursively",
     "tests": {"asserts": ["def test_deep():\n    x = []\n    for _ in range(150):\n        x = [x]\n    assert nest_depth(x) == 151",
                           "assert nest_depth([1, [2, [3]], []]) == 3", "assert nest_depth(7) == 0"], "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        def nest_depth(x):
            if not isinstance(x, list):
                return 0
            deepest = 0
            for item in x:
                deepest = max(deepest, nest_depth(item))
            return deepest + 1
     ''')},
    # ---- stdin programs ------------------------------------------------------------------------------------
    {"name": "stdio_sum_all_tokens", "cls": "honest",
     "note": "sys.stdin.read() of the whole input, including an empty one",
     "tests": {"asserts": [], "stdio": [{"input": "1 2 3\n4\n", "output": "10\n"}, {"input": "-5 5", "output": "0\n"},
                                        {"input": "", "output": "0\n"}], "entry_point": None},
     "solution": dedent(r'''
        import sys

        print(sum(map(int, sys.stdin.read().split())))
     ''')},
    {"name": "stdio_input_loop_until_eof", "cls": "honest",
     "note": "input() in a loop until EOFError; reverses each line",
     "tests": {"asserts": [], "stdio": [{"input": "abc\nxy\n", "output": "cba\nyx\n"}, {"input": "racecar", "output": "racecar\n"}],
               "entry_point": None},
     "solution": dedent(r'''
        while True:
            try:
                line = input()
            except EOFError:
                break
            print(line[::-1])
     ''')},
    {"name": "stdio_scoreboard_lines", "cls": "honest",
     "note": "a count line then that many records, sorted by score descending then name",
     "tests": {"asserts": [], "stdio": [{"input": "3\nbob 5\namy 7\ncat 5\n", "output": "amy 7\nbob 5\ncat 5\n"},
                                        {"input": "1\nzed 0\n", "output": "zed 0\n"}], "entry_point": None},
     "solution": dedent(r'''
        import sys

        def main():
            lines = sys.stdin.read().splitlines()
            rows = [line.split() for line in lines[1:1 + int(lines[0])]]
            rows.sort(key=lambda row: (-int(row[1]), row[0]))
            for name, score in rows:
                print(name, score)

        main()
     ''')},
    {"name": "stdio_fast_readline_queries", "cls": "honest",
     "note": "competitive-programming style: input = sys.stdin.readline, prefix sums, one sys.stdout.write",
     "tests": {"asserts": [], "stdio": [{"input": "5 3\n1 2 3 4 5\n1 5\n2 3\n4 4\n", "output": "15\n5\n4\n"}], "entry_point": None},
     "solution": dedent(r'''
        import sys

        input = sys.stdin.readline
        n, q = map(int, input().split())
        prefix = [0]
        for value in map(int, input().split()):
            prefix.append(prefix[-1] + value)
        out = []
        for _ in range(q):
            left, right = map(int, input().split())
            out.append(str(prefix[right] - prefix[left - 1]))
        sys.stdout.write("\n".join(out) + "\n")
     ''')},
    {"name": "stdio_sys_exit_after_print", "cls": "honest",
     "note": "prints the answer and ends with sys.exit(0), sometimes early: exit status 0 after correct output",
     "tests": {"asserts": [], "stdio": [{"input": "-3\n", "output": "negative\n"}, {"input": "4\n", "output": "even\n"},
                                        {"input": "7\n", "output": "odd\n"}], "entry_point": None},
     "solution": dedent(r'''
        import sys

        n = int(sys.stdin.readline())
        if n < 0:
            print("negative")
            sys.exit(0)
        print("even" if n % 2 == 0 else "odd")
        sys.exit(0)
     ''')},
    {"name": "function_and_main_guard", "cls": "honest",
     "note": "asserts call solve(); stdin cases run the __main__ block; importing must not read stdin",
     "tests": {"asserts": ["assert solve(2, 3) == 7", "assert solve(0, 0) == 1"],
               "stdio": [{"input": "2 3\n", "output": "7\n"}, {"input": "0 9\n", "output": "1\n"}], "entry_point": None},
     "solution": dedent(r'''
        def solve(a, b):
            return a * b + 1

        def main():
            a, b = map(int, input().split())
            print(solve(a, b))

        if __name__ == "__main__":
            main()
     ''')},
    {"name": "stdio_deep_recursion_in_thread", "cls": "honest",
     "note": "the usual trick: threading.stack_size(64 MiB) and a huge recursion limit, the work in a joined thread",
     "tests": {"asserts": [], "stdio": [{"input": "20000\n", "output": "200010000\n"}, {"input": "1\n", "output": "1\n"}],
               "entry_point": None},
     "solution": dedent(r'''
        import sys
        import threading

        def main():
            n = int(sys.stdin.readline())
            def total(k):
                return 0 if k == 0 else k + total(k - 1)
            print(total(n))

        sys.setrecursionlimit(1 << 20)
        threading.stack_size(1 << 26)
        worker = threading.Thread(target=main)
        worker.start()
        worker.join()
     ''')},
    # ---- standard library results ------------------------------------------------------------------------
    {"name": "math_comb_isqrt", "cls": "honest",
     "note": "math.comb for Pascal's row, math.isqrt on a 21-digit square",
     "tests": {"asserts": ["assert pascal_row(5) == [1, 5, 10, 10, 5, 1]", "assert is_square(10 ** 20) is True",
                           "assert is_square(10 ** 20 + 1) is False"], "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        import math

        def pascal_row(n):
            return [math.comb(n, k) for k in range(n + 1)]

        def is_square(n):
            return math.isqrt(n) ** 2 == n
     ''')},
    {"name": "itertools_tuples_in_lists", "cls": "honest",
     "note": "lists of tuples from itertools.combinations and itertools.groupby",
     "tests": {"asserts": ["assert pairs_with_sum([1, 2, 3, 4], 5) == [(1, 4), (2, 3)]",
                           "assert run_lengths('aaabcc') == [('a', 3), ('b', 1), ('c', 2)]", "assert run_lengths('') == []"],
               "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        from itertools import combinations, groupby

        def pairs_with_sum(nums, target):
            return [pair for pair in combinations(nums, 2) if sum(pair) == target]

        def run_lengths(s):
            return [(char, len(list(group))) for char, group in groupby(s)]
     ''')},
    {"name": "counter_compared_to_dict", "cls": "honest",
     "note": "returns a collections.Counter; the tests compare it with plain dicts",
     "tests": {"asserts": ["assert letter_counts('abca') == {'a': 2, 'b': 1, 'c': 1}", "assert letter_counts('') == {}"],
               "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        from collections import Counter

        def letter_counts(s):
            return Counter(ch for ch in s if ch.isalpha())
     ''')},
    {"name": "defaultdict_and_ordereddict_results", "cls": "honest",
     "note": "a defaultdict(list) and an OrderedDict, compared with dicts and checked for key order",
     "tests": {"asserts": ["assert group_by_length(['cat', 'horse', 'dog']) == {3: ['cat', 'dog'], 5: ['horse']}",
                           "assert first_seen('banana') == {'b': 0, 'a': 1, 'n': 2}",
                           "assert list(first_seen('cab')) == ['c', 'a', 'b']"], "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        from collections import OrderedDict, defaultdict

        def group_by_length(words):
            groups = defaultdict(list)
            for word in words:
                groups[len(word)].append(word)
            return groups

        def first_seen(s):
            seen = OrderedDict()
            for i, ch in enumerate(s):
                seen.setdefault(ch, i)
            return seen
     ''')},
    {"name": "deque_sliding_window_max", "cls": "honest",
     "note": "collections.deque inside the solution, a plain list out",
     "tests": {"asserts": ["assert window_max([1, 3, -1, -3, 5, 3, 6, 7], 3) == [3, 3, 5, 5, 6, 7]", "assert window_max([4], 1) == [4]"],
               "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        from collections import deque

        def window_max(xs, k):
            window, out = deque(), []
            for i, x in enumerate(xs):
                while window and xs[window[-1]] <= x:
                    window.pop()
                window.append(i)
                if window[0] <= i - k:
                    window.popleft()
                if i >= k - 1:
                    out.append(xs[window[0]])
            return out
     ''')},
    {"name": "regex_find_emails", "cls": "honest",
     "note": "re.findall with groups turned into strings",
     "tests": {"asserts": ["assert find_emails('mail a.b@x.org or c_d@y.co.uk, not @z.com') == ['a.b@x.org', 'c_d@y.co.uk']",
                           "assert find_emails('none here') == []"], "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        import re

        _EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")

        def find_emails(text):
            return _EMAIL.findall(text)
     ''')},
    {"name": "json_canonical_and_nested_parse", "cls": "honest",
     "note": "json.dumps with sorted keys, and json.loads into a nested dict the tests index into",
     "tests": {"asserts": ["assert canonical({'b': 1, 'a': [1, 2]}) == '{\"a\":[1,2],\"b\":1}'",
                           "assert parse_config('{\"db\": {\"port\": 5432, \"hosts\": [\"a\", \"b\"]}}')['db']['hosts'] == ['a', 'b']",
                           "assert parse_config('{}') == {}"], "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        import json

        def canonical(obj):
            return json.dumps(obj, sort_keys=True, separators=(",", ":"))

        def parse_config(text):
            return json.loads(text)
     ''')},
    {"name": "heapq_smallest_and_merge", "cls": "honest",
     "note": "heapq.nsmallest and heapq.merge",
     "tests": {"asserts": ["assert k_smallest([5, 1, 4, 2, 3], 2) == [1, 2]",
                           "assert merge_sorted([[1, 4], [2, 3], [0]]) == [0, 1, 2, 3, 4]"], "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        import heapq

        def k_smallest(xs, k):
            return heapq.nsmallest(k, xs)

        def merge_sorted(lists):
            return list(heapq.merge(*lists))
     ''')},
    {"name": "fraction_and_decimal_results", "cls": "honest",
     "note": "returns fractions.Fraction and decimal.Decimal values; tests compare exactly and via str()",
     "tests": {"asserts": ["def test_harmonic():\n    from fractions import Fraction\n    assert harmonic(3) == Fraction(11, 6)\n"
                           "    assert harmonic(1) == 1", "def test_money():\n    from decimal import Decimal\n"
                           "    assert money_total(['0.10', '0.20']) == Decimal('0.3')\n    assert str(money_total(['0.10', '0.20'])) == '0.30'"],
               "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        from decimal import Decimal
        from fractions import Fraction

        def harmonic(n):
            return sum((Fraction(1, k) for k in range(1, n + 1)), Fraction(0))

        def money_total(amounts):
            return sum((Decimal(a) for a in amounts), Decimal("0"))
     ''')},
    {"name": "float_with_tolerance", "cls": "honest",
     "note": "Newton's square root, checked with abs(...) < tol and math.isclose",
     "tests": {"asserts": ["assert abs(sqrt_newton(2) - 1.41421356) < 1e-6", "assert abs(sqrt_newton(0.25) - 0.5) < 1e-12",
                           "def test_isclose():\n    import math\n    assert math.isclose(sqrt_newton(1e6), 1000.0, rel_tol=1e-12)",
                           "assert sqrt_newton(0) == 0.0"], "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        def sqrt_newton(x, tol=1e-15):
            if x == 0:
                return 0.0
            guess = max(x, 1.0)
            while True:
                better = (guess + x / guess) / 2
                if abs(better - guess) <= tol * better:
                    return better
                guess = better
     ''')},
    {"name": "inf_and_nan_floats", "cls": "honest",
     "note": "returns float('inf') and nan; the tests use == inf and math.isnan",
     "tests": {"asserts": ["assert ratio(1, 0) == float('inf')", "assert ratio(-2, 0) == float('-inf')",
                           "def test_nan():\n    import math\n    assert math.isnan(ratio(0, 0))", "assert ratio(3, 4) == 0.75"],
               "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        import math

        def ratio(a, b):
            if b == 0:
                return math.nan if a == 0 else math.copysign(math.inf, a)
            return a / b
     ''')},
    {"name": "expected_exceptions", "cls": "honest",
     "note": "raises ValueError (directly and via a ValueError subclass); test functions expect it",
     "tests": {"asserts": ["def test_raises():\n    try:\n        checked_sqrt(-1)\n    except ValueError:\n        return\n"
                           "    raise AssertionError('no error')",
                           "def test_raises_type():\n    try:\n        checked_sqrt('4')\n    except TypeError:\n        return\n"
                           "    raise AssertionError('no error')", "assert checked_sqrt(9) == 3.0"], "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        import math

        class NegativeInputError(ValueError):
            pass

        def checked_sqrt(x):
            if not isinstance(x, (int, float)):
                raise TypeError("a number is needed, got %s" % type(x).__name__)
            if x < 0:
                raise NegativeInputError("negative input: %r" % x)
            return math.sqrt(x)
     ''')},
    {"name": "tuple_versus_list_exactness", "cls": "honest",
     "note": "a tuple where a tuple is expected and a list where a list is: types checked, tuple != list",
     "tests": {"asserts": ["assert min_max([3, 1, 2]) == (1, 3)", "assert type(min_max([1])) is tuple", "assert min_max([1]) != [1, 1]",
                           "assert split_parity([1, 2, 3, 4]) == [[2, 4], [1, 3]]", "assert isinstance(split_parity([]), list)"],
               "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        def min_max(xs):
            return (min(xs), max(xs))

        def split_parity(xs):
            return [[x for x in xs if x % 2 == 0], [x for x in xs if x % 2]]
     ''')},
    {"name": "sets_and_frozensets", "cls": "honest",
     "note": "returns a set and a set of frozensets",
     "tests": {"asserts": ["assert common([1, 2, 3], [2, 3, 4]) == {2, 3}", "assert common([1], [2]) == set()",
                           "assert unordered_pairs([(1, 2), (2, 1), (3, 4)]) == {frozenset({1, 2}), frozenset({3, 4})}"],
               "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        def common(a, b):
            return set(a) & set(b)

        def unordered_pairs(pairs):
            return {frozenset(pair) for pair in pairs}
     ''')},
    {"name": "big_integers", "cls": "honest",
     "note": "exact integers past 64 bits: 2**200 and 30!",
     "tests": {"asserts": ["assert power_of_two(200) == 1606938044258990275541962092341162602522202993782792835301376",
                           "assert factorial(30) == 265252859812191058636308480000000", "assert power_of_two(0) == 1"],
               "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        def power_of_two(n):
            return 1 << n

        def factorial(n):
            result = 1
            for k in range(2, n + 1):
                result *= k
            return result
     ''')},
    {"name": "bytes_result", "cls": "honest",
     "note": "bytes in, bytes out",
     "tests": {"asserts": ["assert xor_bytes(b'\\x0f\\xf0', b'\\xff\\xff') == b'\\xf0\\x0f'", "assert xor_bytes(b'', b'') == b''",
                           "assert type(xor_bytes(b'a', b'b')) is bytes"], "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        def xor_bytes(a, b):
            return bytes(x ^ y for x, y in zip(a, b))
     ''')},
    {"name": "nested_dict_result", "cls": "honest",
     "note": "builds a nested dict from dotted keys",
     "tests": {"asserts": ["assert parse_dotted('a.b=1;a.c=2;d=x') == {'a': {'b': '1', 'c': '2'}, 'd': 'x'}",
                           "assert parse_dotted('') == {}"], "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        def parse_dotted(text):
            root = {}
            for item in filter(None, text.split(";")):
                key, value = item.split("=", 1)
                *parents, leaf = key.split(".")
                node = root
                for part in parents:
                    node = node.setdefault(part, {})
                node[leaf] = value
            return root
     ''')},
    {"name": "unicode_strings", "cls": "honest",
     "note": "non-ASCII text in and out",
     "tests": {"asserts": ["assert reverse_words('héllo wörld') == 'wörld héllo'", "assert shout('straße') == 'STRASSE!'",
                           "assert reverse_words('日本 語') == '語 日本'"], "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        def reverse_words(s):
            return " ".join(reversed(s.split()))

        def shout(s):
            return s.upper() + "!"
     ''')},
    # ---- files, names and calling conventions ------------------------------------------------------------
    {"name": "file_in_working_directory", "cls": "honest",
     "note": "writes, lists, reads back and removes a file in the current directory",
     "tests": {"asserts": ["assert roundtrip(['a', 'b c']) == ['a', 'b c']", "assert roundtrip([]) == []"],
               "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        import os

        def roundtrip(lines, name="scratch.txt"):
            with open(name, "w", encoding="utf-8") as fh:
                fh.write("".join(line + "\n" for line in lines))
            assert name in os.listdir(".")
            with open(name, encoding="utf-8") as fh:
                back = fh.read().splitlines()
            os.remove(name)
            return back
     ''')},
    {"name": "tempfile_module", "cls": "honest",
     "note": "tempfile.TemporaryDirectory (under the sandbox's private /tmp) for an intermediate file",
     "tests": {"asserts": ["assert sort_via_file([3, 1, 2]) == [1, 2, 3]"], "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        import os
        import tempfile

        def sort_via_file(numbers):
            with tempfile.TemporaryDirectory() as folder:
                path = os.path.join(folder, "numbers.txt")
                with open(path, "w") as fh:
                    fh.write("\n".join(map(str, numbers)))
                with open(path) as fh:
                    return sorted(int(line) for line in fh if line.strip())
     ''')},
    {"name": "module_constant_in_tests", "cls": "honest",
     "note": "the tests read a module-level constant of the solution",
     "tests": {"asserts": ["assert MOD == 1000000007", "assert mod_pow(2, 10) == 1024", "assert mod_pow(2, 100) == pow(2, 100, MOD)"],
               "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        MOD = 10 ** 9 + 7

        def mod_pow(base, exp):
            result = 1
            base %= MOD
            while exp:
                if exp & 1:
                    result = result * base % MOD
                base = base * base % MOD
                exp >>= 1
            return result
     ''')},
    {"name": "keyword_only_args_and_defaults", "cls": "honest",
     "note": "called positionally, with keywords and with defaults",
     "tests": {"asserts": ["assert format_price(3) == 'USD 3.00'", "assert format_price(2.5, currency='EUR') == 'EUR 2.50'",
                           "assert format_price(1234.5678, decimals=1, currency='JPY') == 'JPY 1234.6'"],
               "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        def format_price(amount, *, currency="USD", decimals=2):
            return "%s %.*f" % (currency, decimals, amount)
     ''')},
    {"name": "optional_none_and_bools", "cls": "honest",
     "note": "typing.Optional results: None and exact True/False checked with `is`",
     "tests": {"asserts": ["assert find_index([4, 5], 5) == 1", "assert find_index([1, 2], 9) is None",
                           "assert is_even(2) is True", "assert is_even(3) is False"], "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        from typing import Optional, Sequence

        def find_index(xs: Sequence[int], x: int) -> Optional[int]:
            for i, value in enumerate(xs):
                if value == x:
                    return i
            return None

        def is_even(n: int) -> bool:
            return n % 2 == 0
     ''')},
    {"name": "test_function_style", "cls": "honest",
     "note": "tests written as def test_...() functions with several asserts each",
     "tests": {"asserts": ["def test_basic():\n    assert word_count('a b  c') == 3\n    assert word_count('') == 0",
                           "def test_lines():\n    assert word_count('one\\ntwo\\tthree') == 3"], "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        def word_count(text):
            return len(text.split())
     ''')},
    {"name": "humaneval_check_entry_point", "cls": "honest",
     "note": "HumanEval style: the test defines check(candidate), called with the entry_point function",
     "tests": {"asserts": ["def check(candidate):\n    assert candidate(1) == 2\n    assert candidate(-3) == -2\n"
                           "    assert candidate(0) == 1"], "stdio": [], "entry_point": "increment"},
     "solution": dedent(r'''
        def increment(x):
            return x + 1
     ''')},
    {"name": "humaneval_check_with_helper", "cls": "honest",
     "note": "HumanEval style where the entry point uses a helper function of the solution",
     "tests": {"asserts": ["def check(candidate):\n    assert candidate(['ab', 'ba', 'c']) == [['ab', 'ba'], ['c']]\n"
                           "    assert candidate([]) == []"], "stdio": [], "entry_point": "group_anagrams"},
     "solution": dedent(r'''
        def _key(word):
            return "".join(sorted(word))

        def group_anagrams(words):
            groups = {}
            for word in words:
                groups.setdefault(_key(word), []).append(word)
            return list(groups.values())
     ''')},
    {"name": "prints_that_look_like_reports", "cls": "honest",
     "note": "prints at import and inside the function, to stdout and stderr, including fake-looking report lines",
     "tests": {"asserts": ["assert add(2, 3) == 5", "assert add(-1, 1) == 0"], "stdio": [], "entry_point": None},
     "solution": dedent(r'''
        import sys

        print("loading solution")
        print('{"test": 0, "ok": false, "error": "just a debug line"}')

        def add(a, b):
            print("FAILED? no: adding", a, b)
            print("Traceback (most recent call last): not really", file=sys.stderr)
            sys.stdout.flush()
            return a + b
     ''')},
]
