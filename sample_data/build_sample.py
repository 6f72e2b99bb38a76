"""Write sample_data/prompts.jsonl: prompts and recorded responses written for prefmill.

Nothing here is copied from a public dataset. Three fictional policy models of different strength answer
each prompt: atlas-70b (strong), birch-8b (middle), cedar-1b (weak). Every recorded response carries
`intended` ("correct", "wrong" or "off_format"): what its author meant it to be, so tests can check that
the verifiers agree with the author. Run `python sample_data/build_sample.py` to regenerate the file.
"""

from __future__ import annotations

import json
from pathlib import Path

STRONG, MID, WEAK = "atlas-70b", "birch-8b", "cedar-1b"


def steps(*lines: str) -> str:
    return "\n".join(f"Step {i}: {line}" for i, line in enumerate(lines, 1))


# (id, question, reference answer, correct steps, wrong steps (one subtle error), wrong final answer,
#  who answers correctly: a string of S/M/W for the models, and the weak model's style)
MATH = [
    ("math-001", "A bakery sells muffins for $3 each. Maya buys 7 muffins and pays with a $50 bill. How much change does she get, in dollars?", "29",
     ["The muffins cost 7 x 3 = 21 dollars.", "The change is 50 - 21 = 29 dollars."],
     ["The muffins cost 7 x 3 = 24 dollars.", "The change is 50 - 24 = 26 dollars."], "26", "SM", "wrong"),
    ("math-002", "A train travels 180 km in 2.5 hours. What is its average speed in km/h?", "72",
     ["Average speed is distance divided by time.", "180 / 2.5 = 72 km/h."],
     ["Average speed is distance divided by time.", "180 / 2.5 = 70 km/h."], "70", "SM", "off"),
    ("math-003", "Leo has 3 boxes of 24 crayons. He gives away 17 crayons. How many crayons does he have left?", "55",
     ["He starts with 3 x 24 = 72 crayons.", "After giving some away he has 72 - 17 = 55 crayons."],
     ["He starts with 3 x 24 = 72 crayons.", "After giving some away he has 72 - 17 = 45 crayons."], "45", "S", "wrong"),
    ("math-004", "What is 15% of 240?", "36",
     ["10% of 240 is 24.", "5% of 240 is 12.", "So 15% is 24 + 12 = 36."],
     ["10% of 240 is 24.", "5% of 240 is 10.", "So 15% is 24 + 10 = 34."], "34", "SMW", "wrong"),
    ("math-005", "Solve for x: 3x + 7 = 25.", "6",
     ["Subtract 7 from both sides: 3x = 18.", "Divide by 3: x = 6."],
     ["Add 7 to both sides: 3x = 32.", "Divide by 3: x = 32/3."], "\\frac{32}{3}", "SM", "wrong"),
    ("math-006", "A rectangle has a perimeter of 46 cm and a length of 15 cm. What is its width in cm?", "8",
     ["Two lengths make 2 x 15 = 30 cm.", "The two widths make 46 - 30 = 16 cm.", "One width is 16 / 2 = 8 cm."],
     ["Two lengths make 2 x 15 = 30 cm.", "The two widths make 46 - 30 = 14 cm.", "One width is 14 / 2 = 7 cm."], "7", "S", "off"),
    ("math-007", "Simplify the fraction 84/126 to lowest terms.", "\\frac{2}{3}",
     ["Divide numerator and denominator by 6: 14/21.", "Divide both by 7: 2/3."],
     ["Divide numerator and denominator by 6: 14/21.", "Divide both by 7: 2/4, which is 1/2."], "\\frac{1}{2}", "SM", "wrong"),
    ("math-008", "The sum of three consecutive integers is 72. What is the largest of them?", "25",
     ["Call them n, n + 1 and n + 2, so 3n + 3 = 72.", "Then 3n = 69 and n = 23.", "The largest is n + 2 = 25."],
     ["Call them n, n + 1 and n + 2, so 3n + 3 = 72.", "Then 3n = 69 and n = 23.", "The largest is n + 1 = 24."], "24", "S", "wrong"),
    ("math-009", "A shirt costs $40 after a 20% discount. What was the original price in dollars?", "50",
     ["After the discount the shirt costs 80% of the original price p.", "So 0.8p = 40 and p = 40 / 0.8 = 50."],
     ["The discount adds back 20% of the sale price.", "So p = 40 x 1.2 = 48."], "48", "S", "wrong"),
    ("math-010", "Compute 2^10 - 3^5.", "781",
     ["2^10 = 1024.", "3^5 = 243.", "1024 - 243 = 781."],
     ["2^10 = 1024.", "3^5 = 273.", "1024 - 273 = 751."], "751", "SM", "wrong"),
    ("math-011", "What is the least common multiple of 12 and 18?", "36",
     ["12 = 2^2 x 3 and 18 = 2 x 3^2.", "The LCM takes the highest powers: 2^2 x 3^2 = 36."],
     ["12 x 18 = 216.", "Dividing by the common factor 3 gives 216 / 3 = 72."], "72", "SMW", "off"),
    ("math-012", "A recipe uses 2/3 cup of sugar per batch. How many cups of sugar are needed for 4.5 batches?", "3",
     ["Multiply: 4.5 x 2/3.", "4.5 x 2 = 9, and 9 / 3 = 3 cups."],
     ["Multiply: 4.5 x 2/3.", "4.5 x 2 = 8, and 8 / 3 = 8/3 cups."], "8/3", "S", "wrong"),
    ("math-013", "Find the area of a triangle with base 14 and height 9.", "63",
     ["The area of a triangle is half of base times height.", "14 x 9 = 126, and half of that is 63."],
     ["The area of a triangle is base times height.", "14 x 9 = 126."], "126", "SM", "wrong"),
    ("math-014", "If f(x) = 2x^2 - 3x + 1, what is f(4)?", "21",
     ["2 x 4^2 = 2 x 16 = 32.", "3 x 4 = 12.", "f(4) = 32 - 12 + 1 = 21."],
     ["2 x 4^2 = 2 x 16 = 32.", "3 x 4 = 12.", "f(4) = 32 - 12 + 1 = 19."], "19", "S", "wrong"),
    ("math-015", "A car uses 8 liters of fuel per 100 km. How many liters does it need for 350 km?", "28",
     ["350 km is 3.5 times 100 km.", "8 x 3.5 = 28 liters."],
     ["350 km is 3.5 times 100 km.", "8 x 3.5 = 26 liters."], "26", "SM", "off"),
    ("math-016", "What is the median of the numbers 7, 3, 9, 12, 5, 10?", "8",
     ["Sorted: 3, 5, 7, 9, 10, 12.", "With six numbers the median is the mean of the middle two: (7 + 9) / 2 = 8."],
     ["Sorted: 3, 5, 7, 9, 10, 12.", "The median is the third number, 7."], "7", "S", "wrong"),
    ("math-017", "Evaluate 5! / 3!.", "20",
     ["5! / 3! = 5 x 4 x 3! / 3!.", "That leaves 5 x 4 = 20."],
     ["5! / 3! = 5 x 4 x 3! / 3!.", "That leaves 5 x 4 x 3 = 60."], "60", "SMW", "wrong"),
    ("math-018", "A tank holds 1,200 liters and drains at 45 liters per minute. How many liters remain after 16 minutes?", "480",
     ["In 16 minutes it drains 45 x 16 = 720 liters.", "1,200 - 720 = 480 liters remain."],
     ["In 16 minutes it drains 45 x 16 = 700 liters.", "1,200 - 700 = 500 liters remain."], "500", "SM", "wrong"),
    ("math-019", "How many minutes are there in 3.75 hours?", "225",
     ["One hour has 60 minutes.", "3.75 x 60 = 225 minutes."],
     ["3 hours are 180 minutes.", "Adding the 75 minutes gives 255 minutes."], "255", "S", "wrong"),
    ("math-020", "Solve for x: 2(x - 4) = 3x - 11.", "3",
     ["Expand: 2x - 8 = 3x - 11.", "Move terms: -8 + 11 = 3x - 2x, so x = 3."],
     ["Expand: 2x - 4 = 3x - 11.", "Move terms: -4 + 11 = 3x - 2x, so x = 7."], "7", "SM", "wrong"),
    ("math-021", "Two fair six-sided dice are rolled. What is the probability that the sum is 7? Give a fraction in lowest terms.", "\\frac{1}{6}",
     ["There are 36 equally likely outcomes.", "Six of them sum to 7: (1,6), (2,5), (3,4), (4,3), (5,2), (6,1).", "6/36 = 1/6."],
     ["There are 36 equally likely outcomes.", "Five of them sum to 7.", "The probability is 5/36."], "\\frac{5}{36}", "", "wrong"),
    ("math-022", "A store had 480 apples. It sold 3/8 of them in the morning and 1/4 of the remaining apples in the afternoon. How many apples are left?", "225",
     ["Morning sales: 3/8 x 480 = 180, leaving 300.", "Afternoon sales: 1/4 x 300 = 75.", "Left: 300 - 75 = 225."],
     ["Morning sales: 3/8 x 480 = 180, leaving 300.", "Afternoon sales: 1/4 x 480 = 120.", "Left: 300 - 120 = 180."], "180", "", "off"),
    ("math-023", "Write 0.375 as a fraction in lowest terms.", "3/8",
     ["0.375 = 375/1000.", "Divide by 125: 3/8."],
     ["0.375 = 375/1000.", "Divide by 125: 3/4."], "\\frac{3}{4}", "SM", "wrong"),
    ("math-024", "The interior angles of a convex polygon add up to 1080 degrees. How many sides does it have?", "8",
     ["The angle sum of an n-gon is (n - 2) x 180.", "(n - 2) x 180 = 1080 gives n - 2 = 6.", "So n = 8."],
     ["The angle sum of an n-gon is (n - 2) x 180.", "(n - 2) x 180 = 1080 gives n - 2 = 6.", "So n = 6."], "6", "SM", "wrong"),
]

FINAL_STYLES = [
    lambda a: f"The answer is {a}.",
    lambda a: f"\\boxed{{{a}}}",
    lambda a: f"#### {a}",
]
OFF_FORMAT = [
    "I'm not able to work this out without a calculator, sorry.",
    "This is a classic word problem. The key is to read carefully and set up the right equation before computing anything.",
    "Let me restate the question: we need to find the requested quantity from the numbers given. Good luck!",
]


def math_rows() -> list[dict]:
    rows = []
    for i, (pid, question, answer, good, bad, bad_answer, correct_models, weak_style) in enumerate(MATH):
        candidates = []
        for model in (STRONG, MID, WEAK):
            letter = {STRONG: "S", MID: "M", WEAK: "W"}[model]
            style = FINAL_STYLES[(i + len(candidates)) % len(FINAL_STYLES)]
            if letter in correct_models:
                text, intended = steps(*good) + "\n" + style(answer), "correct"
            elif model == WEAK and weak_style == "off":
                text, intended = OFF_FORMAT[i % len(OFF_FORMAT)], "off_format"
            else:
                text, intended = steps(*bad) + "\n" + style(bad_answer), "wrong"
            candidates.append({"model": model, "text": text, "finish_reason": "stop", "intended": intended})
        rows.append({"id": pid, "domain": "math", "prompt": question, "reference": {"answer": answer},
                     "source": "prefmill-sample", "candidates": candidates})
    # One prompt with a fourth response that was cut off at the token limit (kept out of pairs).
    rows[0]["candidates"].append({"model": MID, "text": "Step 1: The muffins cost 7 x 3", "finish_reason": "length",
                                  "sample_index": 3, "intended": "off_format"})
    return rows


CODE = [
    ("code-001", "Write a Python function `is_palindrome(s)` that returns True when the string reads the same "
     "backwards, ignoring case and any character that is not a letter or digit.",
     ["assert is_palindrome('Never odd or even')", "assert not is_palindrome('prefmill')", "assert is_palindrome('')",
      "assert is_palindrome('No lemon, no melon!')"],
     "def is_palindrome(s):\n    kept = [c.lower() for c in s if c.isalnum()]\n    return kept == kept[::-1]",
     "def is_palindrome(s):\n    kept = [c for c in s if c.isalnum()]\n    return kept == kept[::-1]"),
    ("code-002", "Write `fizzbuzz(n)` returning a list of strings for 1..n: 'Fizz' for multiples of 3, 'Buzz' for "
     "multiples of 5, 'FizzBuzz' for both, otherwise the number as text.",
     ["assert fizzbuzz(5) == ['1', '2', 'Fizz', '4', 'Buzz']", "assert fizzbuzz(15)[-1] == 'FizzBuzz'",
      "assert fizzbuzz(0) == []"],
     "def fizzbuzz(n):\n    out = []\n    for i in range(1, n + 1):\n        word = ('Fizz' if i % 3 == 0 else '') + ('Buzz' if i % 5 == 0 else '')\n        out.append(word or str(i))\n    return out",
     "def fizzbuzz(n):\n    out = []\n    for i in range(1, n):\n        word = ('Fizz' if i % 3 == 0 else '') + ('Buzz' if i % 5 == 0 else '')\n        out.append(word or str(i))\n    return out"),
    ("code-003", "Write `second_largest(nums)` returning the second largest distinct value in a list of integers, "
     "or None when there is no such value.",
     ["assert second_largest([4, 1, 9, 7]) == 7", "assert second_largest([5, 5, 5]) is None",
      "assert second_largest([3, 8, 8]) == 3", "assert second_largest([]) is None"],
     "def second_largest(nums):\n    distinct = sorted(set(nums), reverse=True)\n    return distinct[1] if len(distinct) > 1 else None",
     "def second_largest(nums):\n    ordered = sorted(nums, reverse=True)\n    return ordered[1] if len(ordered) > 1 else None"),
    ("code-004", "Write `count_vowels(text)` that counts the vowels a, e, i, o, u in a string, upper or lower case.",
     ["assert count_vowels('Prefmill') == 2", "assert count_vowels('AEIOU xyz') == 5", "assert count_vowels('') == 0"],
     "def count_vowels(text):\n    return sum(1 for c in text.lower() if c in 'aeiou')",
     "def count_vowels(text):\n    return sum(1 for c in text if c in 'aeiou')"),
    ("code-005", "Write `flatten(items)` that flattens arbitrarily nested lists into one flat list, keeping order.",
     ["assert flatten([1, [2, [3, [4]]], 5]) == [1, 2, 3, 4, 5]", "assert flatten([]) == []",
      "assert flatten([[], [[]]]) == []"],
     "def flatten(items):\n    out = []\n    for item in items:\n        if isinstance(item, list):\n            out.extend(flatten(item))\n        else:\n            out.append(item)\n    return out",
     "def flatten(items):\n    out = []\n    for item in items:\n        if isinstance(item, list):\n            out.extend(item)\n        else:\n            out.append(item)\n    return out"),
    ("code-006", "Write `merge_intervals(intervals)` that merges overlapping closed intervals given as [start, end] "
     "lists and returns them sorted by start.",
     ["assert merge_intervals([[1, 3], [2, 6], [8, 10]]) == [[1, 6], [8, 10]]",
      "assert merge_intervals([[5, 7], [1, 5]]) == [[1, 7]]", "assert merge_intervals([]) == []"],
     "def merge_intervals(intervals):\n    merged = []\n    for start, end in sorted(intervals):\n        if merged and start <= merged[-1][1]:\n            merged[-1][1] = max(merged[-1][1], end)\n        else:\n            merged.append([start, end])\n    return merged",
     "def merge_intervals(intervals):\n    merged = []\n    for start, end in sorted(intervals):\n        if merged and start < merged[-1][1]:\n            merged[-1][1] = max(merged[-1][1], end)\n        else:\n            merged.append([start, end])\n    return merged"),
    ("code-007", "Write `word_frequencies(text)` returning a dict from each lowercase word to how often it occurs. "
     "Words are runs of letters; ignore punctuation.",
     ["assert word_frequencies('The cat and the hat.') == {'the': 2, 'cat': 1, 'and': 1, 'hat': 1}",
      "assert word_frequencies('') == {}"],
     "import re\n\ndef word_frequencies(text):\n    counts = {}\n    for word in re.findall(r'[a-z]+', text.lower()):\n        counts[word] = counts.get(word, 0) + 1\n    return counts",
     "def word_frequencies(text):\n    counts = {}\n    for word in text.lower().split():\n        counts[word] = counts.get(word, 0) + 1\n    return counts"),
    ("code-008", "Write `rotate(xs, k)` that rotates a list to the right by k places (k may exceed the length).",
     ["assert rotate([1, 2, 3, 4, 5], 2) == [4, 5, 1, 2, 3]", "assert rotate([1, 2, 3], 4) == [3, 1, 2]",
      "assert rotate([], 3) == []"],
     "def rotate(xs, k):\n    if not xs:\n        return []\n    k %= len(xs)\n    return xs[-k:] + xs[:-k] if k else list(xs)",
     "def rotate(xs, k):\n    if not xs:\n        return []\n    return xs[-k:] + xs[:-k]"),
    ("code-009", "Write `is_prime(n)` returning True when the integer n is prime.",
     ["assert is_prime(2) and is_prime(97)", "assert not is_prime(1) and not is_prime(0)", "assert not is_prime(91)"],
     "def is_prime(n):\n    if n < 2:\n        return False\n    i = 2\n    while i * i <= n:\n        if n % i == 0:\n            return False\n        i += 1\n    return True",
     "def is_prime(n):\n    if n < 2:\n        return False\n    for i in range(2, int(n ** 0.5)):\n        if n % i == 0:\n            return False\n    return True"),
    ("code-010", "Write `binary_search(xs, target)` returning the index of target in the sorted list xs, or -1.",
     ["assert binary_search([1, 3, 5, 7, 9], 7) == 3", "assert binary_search([1, 3, 5], 4) == -1",
      "assert binary_search([], 1) == -1", "assert binary_search([2], 2) == 0"],
     "def binary_search(xs, target):\n    lo, hi = 0, len(xs) - 1\n    while lo <= hi:\n        mid = (lo + hi) // 2\n        if xs[mid] == target:\n            return mid\n        if xs[mid] < target:\n            lo = mid + 1\n        else:\n            hi = mid - 1\n    return -1",
     "def binary_search(xs, target):\n    lo, hi = 0, len(xs) - 1\n    while lo < hi:\n        mid = (lo + hi) // 2\n        if xs[mid] == target:\n            return mid\n        if xs[mid] < target:\n            lo = mid + 1\n        else:\n            hi = mid - 1\n    return -1"),
    ("code-011", "Write `run_length_encode(s)` that encodes runs of equal characters as the character followed by the "
     "run length, e.g. 'aaabcc' -> 'a3b1c2'.",
     ["assert run_length_encode('aaabcc') == 'a3b1c2'", "assert run_length_encode('') == ''",
      "assert run_length_encode('z') == 'z1'"],
     "def run_length_encode(s):\n    out = []\n    i = 0\n    while i < len(s):\n        j = i\n        while j < len(s) and s[j] == s[i]:\n            j += 1\n        out.append(f'{s[i]}{j - i}')\n        i = j\n    return ''.join(out)",
     "def run_length_encode(s):\n    out = []\n    for ch in sorted(set(s)):\n        out.append(f'{ch}{s.count(ch)}')\n    return ''.join(out)"),
    ("code-012", "Write a program that reads two integers from standard input, one per line, and prints their sum.",
     {"stdio": [{"input": "2\n3\n", "output": "5\n"}, {"input": "-4\n10\n", "output": "6\n"}]},
     "a = int(input())\nb = int(input())\nprint(a + b)",
     "a = input()\nb = input()\nprint(a + b)"),
    ("code-013", "Write a program that reads one line of words from standard input and prints the words in reverse "
     "order, separated by single spaces.",
     {"stdio": [{"input": "one two three\n", "output": "three two one\n"}, {"input": "solo\n", "output": "solo\n"}]},
     "print(' '.join(reversed(input().split())))",
     "print(input()[::-1])"),
    ("code-014", "Write `chunk(xs, size)` that splits a list into consecutive chunks of the given size; the last "
     "chunk may be shorter.",
     ["assert chunk([1, 2, 3, 4, 5], 2) == [[1, 2], [3, 4], [5]]", "assert chunk([], 3) == []",
      "assert chunk([1, 2], 5) == [[1, 2]]"],
     "def chunk(xs, size):\n    return [xs[i:i + size] for i in range(0, len(xs), size)]",
     "def chunk(xs, size):\n    return [xs[i:i + size] for i in range(0, len(xs) - 1, size)]"),
]

CODE_PROSE = [
    "You can solve this by looping over the input and keeping track of what you have seen so far. "
    "Make sure to handle the edge cases such as empty input.",
    "This is a common interview question. The idea is straightforward once you think about it step by step.",
]


def code_rows() -> list[dict]:
    rows = []
    for i, (pid, question, tests, good, bad) in enumerate(CODE):
        tests = {"asserts": tests} if isinstance(tests, list) else tests
        wrap = lambda code: f"Here is a solution:\n\n```python\n{code}\n```"  # noqa: E731
        weak = (wrap(bad), "wrong") if i % 3 == 0 else (CODE_PROSE[i % 2], "off_format")
        mid = (wrap(good), "correct") if i % 2 == 0 else (wrap(bad), "wrong")
        candidates = [
            {"model": STRONG, "text": wrap(good), "finish_reason": "stop", "intended": "correct"},
            {"model": MID, "text": mid[0], "finish_reason": "stop", "intended": mid[1]},
            {"model": WEAK, "text": weak[0], "finish_reason": "stop", "intended": weak[1]},
        ]
        rows.append({"id": pid, "domain": "code", "prompt": question, "reference": {"tests": tests},
                     "source": "prefmill-sample", "candidates": candidates})
    return rows


# (id, instruction, constraints, compliant response, non-compliant response, what the weak model does)
INSTRUCTION = [
    ("inst-001", "Describe a lighthouse at night in all lowercase letters.",
     [{"kind": "lowercase"}],
     "the lighthouse stands alone on the rocks, its beam sweeping the black water in slow circles.",
     "The lighthouse stands alone on the rocks, its beam sweeping the black water in slow circles."),
    ("inst-002", "In at most 25 words, explain why the sky looks blue.",
     [{"kind": "word_count", "args": {"relation": "at_most", "value": 25}}],
     "Air molecules scatter short blue wavelengths of sunlight far more than red ones, so blue light reaches our eyes from every direction.",
     "The sky looks blue because of a process called Rayleigh scattering. Sunlight contains all colours, and as it passes through the atmosphere the tiny gas molecules scatter the shorter wavelengths much more strongly than the longer ones, which spreads blue light across the whole sky."),
    ("inst-003", "List exactly three tips for staying focused while studying, as markdown bullet points and nothing else.",
     [{"kind": "bullet_count", "args": {"value": 3}}],
     "* Put your phone in another room.\n* Work in 25-minute blocks with short breaks.\n* Decide what you will finish before you start.",
     "* Put your phone in another room.\n* Work in 25-minute blocks.\n* Drink water.\n* Sleep well the night before."),
    ("inst-004", "Write a two-sentence product blurb for a reusable water bottle without using any commas.",
     [{"kind": "no_commas"}],
     "This steel bottle keeps drinks cold for a full day. It fits every cup holder and never leaks.",
     "This steel bottle keeps drinks cold, fresh and tasty for a full day. It fits every cup holder, bag and bike."),
    ("inst-005", "Write a short poem about rain. Give it a title wrapped in double angular brackets, like <<title>>.",
     [{"kind": "title"}],
     "<<Window Rain>>\nSoft taps on the glass,\nthe street turns to silver,\nand the afternoon slows down.",
     "Window Rain\nSoft taps on the glass,\nthe street turns to silver,\nand the afternoon slows down."),
    ("inst-006", "Return a JSON object with the keys \"city\" and \"country\" for the capital of Japan. Output only the JSON.",
     [{"kind": "json_format"}],
     "{\"city\": \"Tokyo\", \"country\": \"Japan\"}",
     "The capital of Japan is Tokyo, so: city = Tokyo, country = Japan."),
    ("inst-007", "Give one tip for writing clear emails, and end your response with the exact phrase \"Is there anything else I can help with?\"",
     [{"kind": "end_phrase", "args": {"phrase": "Is there anything else I can help with?"}}],
     "Put the request in the first sentence so the reader knows what you need. Is there anything else I can help with?",
     "Put the request in the first sentence so the reader knows what you need. Hope this helps!"),
    ("inst-008", "Write a sentence about a garden that includes the words \"basil\" and \"trellis\".",
     [{"kind": "keywords_include", "args": {"keywords": ["basil", "trellis"]}}],
     "Beans climbed the trellis while the basil spread out along the sunny edge of the garden.",
     "Beans climbed the fence while the herbs spread out along the sunny edge of the garden."),
    ("inst-009", "Describe a morning routine in three sentences without using the words \"coffee\" or \"alarm\".",
     [{"kind": "keywords_exclude", "args": {"keywords": ["coffee", "alarm"]}}, {"kind": "sentence_count", "args": {"relation": "exactly", "value": 3}}],
     "I wake with the sunrise and open the window. I stretch for ten minutes on the floor. Then I eat porridge and read the news.",
     "My alarm rings at six and I get up. I stretch for ten minutes on the floor. Then I drink coffee and read the news."),
    ("inst-010", "Write a one-line motivational slogan for a running club in ALL CAPITAL LETTERS.",
     [{"kind": "uppercase"}],
     "EVERY MILE STARTS WITH ONE STEP: RUN WITH US!",
     "Every mile starts with one step: run with us!"),
    ("inst-011", "Write a short note inviting a neighbour to a barbecue. Use two placeholders in square brackets, such as [date].",
     [{"kind": "placeholders", "args": {"value": 2}}],
     "Hi [name], we're having a barbecue on [date] in our back garden. Bring your appetite!",
     "Hi there, we're having a barbecue this Saturday in our back garden. Bring your appetite!"),
    ("inst-012", "Write a short thank-you message to a teacher and add a postscript starting with P.S.",
     [{"kind": "postscript", "args": {"marker": "P.S."}}],
     "Thank you for a year of patient explanations and good humour.\n\nP.S. The class plant is still alive!",
     "Thank you for a year of patient explanations and good humour. The class plant is still alive!"),
    ("inst-013", "Wrap your entire answer in double quotation marks: what is a good name for a grey cat?",
     [{"kind": "quotation"}],
     "\"Pebble is a good name for a grey cat.\"",
     "Pebble is a good name for a grey cat."),
    ("inst-014", "Write two paragraphs about autumn separated by the markdown divider ***. Start your answer with the word \"Leaves\".",
     [{"kind": "paragraph_count", "args": {"value": 2, "separator": "***"}}, {"kind": "start_phrase", "args": {"phrase": "Leaves"}}],
     "Leaves turn copper and gold, and the air smells of woodsmoke.\n\n***\n\nEvenings come early, and the first frost silvers the grass.",
     "Autumn is here. Leaves turn copper and gold, and the air smells of woodsmoke. Evenings come early, and the first frost silvers the grass."),
]


def instruction_rows() -> list[dict]:
    rows = []
    for i, (pid, instruction, constraints, good, bad) in enumerate(INSTRUCTION):
        mid = (good, "correct") if i % 3 != 2 else (bad, "wrong")
        candidates = [
            {"model": STRONG, "text": good, "finish_reason": "stop", "intended": "correct"},
            {"model": MID, "text": mid[0], "finish_reason": "stop", "intended": mid[1]},
            {"model": WEAK, "text": bad, "finish_reason": "stop", "intended": "wrong"},
        ]
        rows.append({"id": pid, "domain": "instruction", "prompt": instruction,
                     "reference": {"constraints": constraints}, "source": "prefmill-sample", "candidates": candidates})
    return rows


CHAT = [
    ("chat-001", "What should I pack for a weekend hiking trip in the mountains?",
     "Pack layers (a base layer, a warm fleece and a waterproof shell), sturdy broken-in boots, a map and compass or offline map, a headlamp, a first-aid kit, sun protection, enough water plus a filter, and food that is easy to eat on the move. Check the forecast and tell someone your route.",
     "Bring a jacket, water and snacks.",
     "Mountains are formed by tectonic plates pushing against each other over millions of years."),
    ("chat-002", "How do I politely decline a meeting invitation from my manager?",
     "Reply promptly, thank them, and give a short reason plus an alternative: 'Thanks for including me. I'm committed to the release work that afternoon; could I send my input in writing, or join the second half?' Offering a way to contribute shows you still care about the outcome.",
     "Just say you're busy.",
     "Meetings are a waste of time, so you should skip all of them."),
    ("chat-003", "Can you explain what a hash table is to a beginner?",
     "A hash table stores values under keys. A hash function turns each key into a number that picks a slot in an array, so looking a key up is usually one quick step instead of a search. When two keys land in the same slot (a collision), the table keeps both, for example in a small list at that slot.",
     "It's a table that uses hashes.",
     "A hash table is a piece of kitchen furniture used for chopping vegetables."),
    ("chat-004", "Suggest a name for a small bakery that specialises in sourdough.",
     "Some ideas: 'Slow Rise', 'Wild Crumb', 'The Starter Jar', or 'Crust & Culture'. 'Slow Rise' hints at the long fermentation that makes sourdough special.",
     "Bread Shop.",
     "I think you should open a pizza place instead."),
    ("chat-005", "What's the difference between weather and climate?",
     "Weather is what the atmosphere does over hours or days in one place: today's rain, tomorrow's wind. Climate is the long-term pattern of that weather, usually averaged over 30 years or more. A cold week is weather; a region's winters getting milder over decades is climate.",
     "Weather is short term, climate is long term.",
     "They are the same thing."),
    ("chat-006", "How can I keep my houseplants alive while I'm away for two weeks?",
     "Water them thoroughly the day before, group them together away from direct sun to reduce evaporation, and use self-watering spikes or a wick from a water jug for thirsty plants. Succulents will be fine on their own; ferns may need a neighbour to check in.",
     "Water them before you go.",
     "Plants don't need water for two weeks, they store it in their leaves."),
    ("chat-007", "Give me a simple explanation of compound interest.",
     "Compound interest means you earn interest on your interest. If you save 100 at 5% a year, after one year you have 105; the next year you earn 5% of 105, not of 100, so the total grows a little faster every year.",
     "Interest that compounds.",
     "Compound interest is when the bank charges you a fee every month."),
    ("chat-008", "What are some good ways to practise a new language every day?",
     "Mix short daily habits: 10 minutes of spaced-repetition vocabulary, one podcast or video in the language, speaking aloud (even to yourself) about your day, and a weekly conversation with a tutor or exchange partner. Consistency matters more than long sessions.",
     "Use an app.",
     "Languages can only be learned as a child, so it is not worth trying."),
    ("chat-009", "Why do cats purr?",
     "Cats purr when they are content, but also when stressed or hurt; it seems to be a self-soothing signal. The sound comes from rapid twitching of the muscles around the voice box, and its low frequencies may even help healing.",
     "Because they are happy.",
     "Cats purr to warn other cats about dogs nearby."),
    ("chat-010", "Help me write a friendly opening line for a cover letter for a library assistant job.",
     "'Ever since I reorganised my school's reading corner, I've loved helping people find the right book, which is why I'm excited to apply for the Library Assistant role at Riverside Library.'",
     "I want the job.",
     "Dear Sir, I am writing to complain about an overdue fine."),
    ("chat-011", "What is a good way to start running if I have never run before?",
     "Start with run-walk intervals: one minute of easy running, two minutes of walking, repeated for 20 minutes, three times a week. Add a little running each week. Go slow enough to talk, wear comfortable shoes, and rest if anything hurts.",
     "Run every day as far as you can.",
     "Running is bad for your knees, so you should never start."),
    ("chat-012", "Explain what a recipe's 'mise en place' means.",
     "'Mise en place' is French for 'everything in its place': before you start cooking, you measure, chop and set out every ingredient and tool. Cooking then goes smoothly because nothing has to be found or prepared mid-recipe.",
     "It means preparing.",
     "It is a type of French dessert made with cream."),
]


def chat_rows() -> list[dict]:
    rows = []
    for pid, question, good, terse, off in CHAT:
        candidates = [
            {"model": STRONG, "text": good, "finish_reason": "stop", "intended": "correct"},
            {"model": MID, "text": terse, "finish_reason": "stop", "intended": "wrong"},
            {"model": WEAK, "text": off, "finish_reason": "stop", "intended": "off_format"},
        ]
        rows.append({"id": pid, "domain": "chat", "prompt": question, "source": "prefmill-sample",
                     "candidates": candidates})
    return rows


def main() -> None:
    rows = math_rows() + code_rows() + instruction_rows() + chat_rows()
    out = Path(__file__).with_name("prompts.jsonl")
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    print(f"wrote {len(rows)} prompts to {out}")


if __name__ == "__main__":
    main()
