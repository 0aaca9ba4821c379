"""Language corrections during a rollout, and a memory that learns from them.

A person watching a rollout can correct the scheduling layer in words, between skills or while one runs
(YAY Robot, Shi et al. 2024: verbal corrections to the high-level policy during execution). Each correction is
*interpreted* over the scene's own vocabulary — the templated sub-goals ("atoms") of its language and the grounded
predicates of its symbolic domain — into an :class:`Amendment`:

* ``stop`` — interrupt the running skill at the next control step;
* ``require`` — goal predicates the person wants at the end (``"leave the drawer open"`` → ``drawer_open``;
  ``"don't close the window"`` → ``not window_closed``; ``"put it in the bin, not the drawer"`` →
  ``block_in_bin(red), not block_in_drawer(red)`` with *it* resolved to the object in focus);
* ``referent`` — the object meant (``"I meant the blue block"``, ``"cobalt means the blue block"``);
* ``context`` — canonical phrasings of the above, added to the text a language model scores against.

Clauses are split at punctuation and conjunctions; each is matched to the nearest atom phrasing by cosine
similarity of sentence embeddings (the project's offline MiniLM, as the embedding SayCan scorer retrieves
exemplars; Huang et al. 2022 translate free-form steps to admissible skills the same way), restricted to the
atoms about the object named or in focus. Negation words (*not, don't, never*) negate the matched atom's goal;
a bare negated noun ("not the drawer") takes the verb of its positive sibling clause.

:class:`Corrections` holds an episode's amendments and applies them to every planner in the same way:
the corrections become part of the instruction the planner scores (SayCan, learned) or grounds (goal-grounding),
planners that hold a goal amend it (:meth:`Corrections.amend_goal`, via their ``correct`` hook: goal-grounding,
oracle) or replan (generative), and the executor withholds ``done`` until the required predicates hold and vetoes
skills that would break a required predicate that holds (when the goal stays reachable without breaking it) or
would make the requirement unreachable (symbolic domains only).

:class:`CorrectionMemory` distils each applied correction into an entry (DROC, Zha et al. 2023: instruction,
the state in predicates, the wrong choice, the correction, the amendment, the fix that followed), stores it in a
versioned JSON file written atomically, and retrieves the entries nearest to a new instruction
(cosine similarity of instruction embeddings, deterministic ties) so the same mistake is not made twice.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import queue
import re
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol, TextIO

import numpy as np
import numpy.typing as npt

from skillstack.envs.fileio import JSONReadError, atomic_write_json, read_json_capped
from skillstack.envs.scenes import Scene
from skillstack.planners.base import DONE, Candidate
from skillstack.planners.lm import sentence_model

STOP_WORDS = frozenset({"stop", "halt", "freeze", "abort", "wait"})
"""A correction consisting of one of these words (optionally followed by "now"/"please") interrupts the skill."""

MAX_TEXT = 500
"""Longest correction text accepted [characters]."""


def is_stop(text: str) -> bool:
    """Whether ``text`` asks to stop (a word of :data:`STOP_WORDS`, optionally with "now", "please", ...)."""
    words = _words(text)
    return bool(words) and words[0] in STOP_WORDS and set(words[1:]) <= {"now", "please", "it", "that", "there"}


class CorrectionError(ValueError):
    """A malformed corrections script or correction memory (one line naming the file and the problem)."""


# ----------------------------------------------------------------------------------------------- scheduling
@dataclass(frozen=True)
class ScheduledCorrection:
    """One correction of a script: delivered after ``after_skill`` skills ended, or at control step ``at_step``.

    Attributes:
        text: the correction, e.g. ``"put it in the bin, not the drawer"`` or ``"stop"``.
        after_skill: delivered at the first decision after this many skills ended (0: the first decision, after
            the planner proposed its first skill and before it runs).
        at_step: delivered at this control step of the episode (counted from 0 over all skills); ``stop``
            interrupts the running skill there, any other text is applied at the next decision.
    """

    text: str
    after_skill: int | None = None
    at_step: int | None = None


def _check_text(text: Any, where: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise CorrectionError(f"{where}: 'text' must be a non-empty string")
    if len(text) > MAX_TEXT:
        raise CorrectionError(f"{where}: 'text' is {len(text)} characters, more than {MAX_TEXT}")
    return text.strip()


def parse_corrections(entries: Any, where: str = "corrections") -> list[ScheduledCorrection]:
    """Validate a list of ``{"after_skill": k | "at_step": n, "text": ...}`` objects.

    Raises:
        CorrectionError: not a list of objects with exactly one of ``after_skill``/``at_step`` (an integer ≥ 0)
            and a non-empty ``text``.
    """
    if not isinstance(entries, list):
        raise CorrectionError(f"{where}: expected a list of corrections")
    out = []
    for i, e in enumerate(entries):
        w = f"{where}[{i}]"
        if not isinstance(e, dict) or set(e) - {"after_skill", "at_step", "text"}:
            raise CorrectionError(f"{w}: expected an object with 'text' and one of 'after_skill', 'at_step'")
        keys = [k for k in ("after_skill", "at_step") if k in e]
        if len(keys) != 1:
            raise CorrectionError(f"{w}: give exactly one of 'after_skill', 'at_step'")
        v = e[keys[0]]
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise CorrectionError(f"{w}: '{keys[0]}' must be an integer >= 0, got {v!r}")
        out.append(ScheduledCorrection(_check_text(e.get("text"), w), **{keys[0]: v}))
    return out


def load_corrections(path: str | os.PathLike[str]) -> list[ScheduledCorrection]:
    """Read a corrections script: a JSON list (or ``{"corrections": [...]}``) of ``after_skill``/``at_step`` →
    ``text`` entries (:class:`ScheduledCorrection`).

    Raises:
        CorrectionError: unreadable, not JSON, or malformed (one line naming the file).
    """
    try:
        data = read_json_capped(path, max_bytes=1 << 20)
    except (OSError, JSONReadError) as e:
        raise CorrectionError(f"corrections script {path}: {e}") from None
    if isinstance(data, dict):
        data = data.get("corrections")
    return parse_corrections(data, str(path))


class CorrectionSource(Protocol):
    """Where corrections come from during a rollout (a script, or a person at the terminal)."""

    def at_decision(self, executed: int, table: Sequence[str]) -> list[str]:
        """Corrections to apply at this decision; ``executed`` skills have ended, ``table`` is the decision
        table just proposed."""
        ...

    def during_skill(self, step: int) -> list[str]:
        """Corrections arriving at control step ``step`` of the episode (non-blocking)."""
        ...


class ScriptedCorrections:
    """A :class:`CorrectionSource` replaying :class:`ScheduledCorrection` entries (each delivered once)."""

    def __init__(self, script: Sequence[ScheduledCorrection]) -> None:
        self.script = list(script)
        self._delivered = [False] * len(self.script)

    def _take(self, due: Callable[[ScheduledCorrection], bool]) -> list[str]:
        out = []
        for i, c in enumerate(self.script):
            if not self._delivered[i] and due(c):
                self._delivered[i] = True
                out.append(c.text)
        return out

    def at_decision(self, executed: int, table: Sequence[str]) -> list[str]:
        return self._take(lambda c: c.after_skill is not None and c.after_skill <= executed)

    def during_skill(self, step: int) -> list[str]:
        return self._take(lambda c: c.at_step is not None and c.at_step <= step)


class TerminalCorrections:
    """A :class:`CorrectionSource` reading lines a person types (``rollout --interactive``).

    A background thread reads ``stream`` line by line. At each decision the table is printed and the prompt
    ``correction>`` waits for a line (Enter: go on; anything else: a correction, after which the planner decides
    again and the prompt returns). Lines typed while a skill runs are picked up at the next control step: ``stop``
    interrupts the skill, other text is applied at the next decision. At end of input the rollout goes on without
    prompting.
    """

    PROMPT = "correction> "

    def __init__(self, stream: TextIO | None = None, out: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stdin
        self.out = out if out is not None else sys.stdout
        self._lines: queue.Queue[str | None] = queue.Queue()
        self.eof = False
        threading.Thread(target=self._read, daemon=True, name="skillstack-corrections").start()

    def _read(self) -> None:
        for line in self.stream:
            self._lines.put(line.rstrip("\r\n"))
        self._lines.put(None)

    def _drain(self) -> list[str]:
        out = []
        while True:
            try:
                line = self._lines.get_nowait()
            except queue.Empty:
                return out
            if line is None:
                self.eof = True
            elif line.strip():
                out.append(line.strip())

    def at_decision(self, executed: int, table: Sequence[str]) -> list[str]:
        typed = self._drain()
        if typed or self.eof:
            return typed
        print("\n".join(table), file=self.out)
        print(self.PROMPT, end="", file=self.out, flush=True)
        line = self._lines.get()
        if line is None:
            self.eof = True
            return []
        return [line.strip()] if line.strip() else []

    def during_skill(self, step: int) -> list[str]:
        return self._drain()


# --------------------------------------------------------------------------------------------- interpretation
@dataclass
class Amendment:
    """What one correction asks for (module docstring).

    Attributes:
        text: the correction as given.
        stop: interrupt the running skill.
        require: goal predicate → required value at the end of the episode.
        referent: the object meant (an argument of the scene's grounded predicates, e.g. ``"blue"``).
        context: canonical phrasings of the amendment (added to the text language models score).
        clauses: how each clause was read (text, polarity, matched atom, similarity) — for logs.
        additive: the correction adds to the proposal shown ("also ...", "... too", "... as well"): the executor
            then also requires the fixture states the proposed skill would bring about
            (:meth:`CorrectionInterpreter.accept_proposal`).
    """

    text: str
    stop: bool = False
    require: dict[str, bool] = field(default_factory=dict)
    referent: str | None = None
    context: list[str] = field(default_factory=list)
    clauses: list[dict[str, Any]] = field(default_factory=list)
    additive: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def without(self, predicates: Sequence[str]) -> Amendment:
        """A copy whose requirements omit ``predicates`` (and whose context omits their phrasings' clauses)."""
        drop = set(predicates)
        return Amendment(self.text, self.stop, {k: v for k, v in self.require.items() if k not in drop},
                         self.referent, list(self.context), list(self.clauses), self.additive)

    def without_referent(self) -> Amendment:
        """A copy without the referent (and its phrase in the context)."""
        phrase = self.context[0] if self.referent is not None and self.context else None
        return Amendment(self.text, self.stop, dict(self.require), None,
                         [c for c in self.context if c != phrase], list(self.clauses), self.additive)

    @property
    def understood(self) -> bool:
        """Whether anything actionable was read from the text."""
        return self.stop or bool(self.require) or self.referent is not None


class Embedder:
    """Unit-norm sentence embeddings ``(n, 384) float32``, cached per text."""

    def __init__(self, model: Any = None) -> None:
        self.model = model
        self._cache: dict[str, npt.NDArray[np.float32]] = {}

    def __call__(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        missing = [t for t in dict.fromkeys(texts) if t not in self._cache]
        if missing:
            if self.model is None:
                self.model = sentence_model()
            vecs = self.model.encode(missing, normalize_embeddings=True, convert_to_numpy=True,
                                     show_progress_bar=False, batch_size=128)
            self._cache.update(zip(missing, vecs, strict=True))
        return np.stack([self._cache[t] for t in texts]) if texts else np.zeros((0, 384), np.float32)


_ARG = re.compile(r"\(([a-z0-9_]+)\)")
_SPLIT = re.compile(r"[,;:.!?]|\bbut\b|\band then\b|\bthen\b|\band\b|\bas well as\b|\bafter\b|\bbefore\b")
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_FILLERS = ("no", "oh", "sorry", "please", "actually", "also", "i mean", "i meant", "i said", "rather",
            "instead", "wait", "ok", "okay", "and", "then", "just")
_TRAILERS = ("instead", "too", "as well", "please", "also", "then", "first")
_ADDITIVE = re.compile(r"^\s*(also|and also|plus)\b|\b(too|as well|also)\s*[.!]?\s*$")
_NEGATIONS = ("don't", "dont", "do not", "does not", "never", "not", "no more")
_PREPOSITIONS = ("in", "into", "inside", "on", "onto", "to")
_STOPWORDS = frozenset({"the", "a", "an", "of", "to", "it", "its", "and", "then", "both", "one", "ones", "that",
                        "this", "them", "up", "down", "back"})


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def nearest_phrasing(embed: Embedder, text: str, phrasings: Sequence[str],
                     lexical_weight: float = 0.25) -> tuple[int, float]:
    """Index of the phrasing nearest to ``text`` and its cosine similarity: ranked by cosine similarity of
    sentence embeddings plus ``lexical_weight ×`` the Jaccard overlap of content words (embeddings alone confuse
    "keep the drawer open" with "push the drawer closed"). ``phrasings`` must not be empty."""
    q = embed([text])[0]
    cos = embed(list(phrasings)) @ q
    mine = set(_words(text)) - _STOPWORDS
    lex = np.array([len(mine & w) / max(1, len(mine | w)) for w in (set(_words(p)) - _STOPWORDS for p in phrasings)])
    best = int(np.argmax(cos + lexical_weight * lex))
    return best, float(cos[best])


def _strip_edges(clause: str) -> tuple[str, bool]:
    """Remove leading fillers and trailing adverbs; return the clause and whether it was negated."""
    c = " ".join(_words(clause))
    negative = False
    changed = True
    while changed and c:
        changed = False
        for neg in _NEGATIONS:
            if c == neg or c.startswith(neg + " "):
                c, negative, changed = c[len(neg):].strip(), not negative, True
        for f in _FILLERS:
            if c == f or c.startswith(f + " "):
                c, changed = c[len(f):].strip(), True
        for t in _TRAILERS:
            if c.endswith(" " + t):
                c, changed = c[: -len(t) - 1].strip(), True
    return c, negative


class CorrectionInterpreter:
    """Reads a correction into an :class:`Amendment` over a scene's language and predicates (module docstring).

    Args:
        scene: a scene with a templated language (its atoms' phrasings and goals are the vocabulary).
        embedder: an :class:`Embedder` (default: the bundled MiniLM).
        threshold: minimum cosine similarity between a clause and an atom phrasing to accept the match.

    Raises:
        ValueError: the scene has no templated language.
    """

    def __init__(self, scene: Scene, embedder: Embedder | None = None, threshold: float = 0.55) -> None:
        if scene.language is None or not scene.language.parseable:
            raise ValueError(f"scene {scene.name!r} has no templated language for parsing: corrections cannot be "
                             f"interpreted")
        self.scene = scene
        self.embed = embedder or Embedder()
        self.threshold = threshold
        self.atoms = list(scene.language.atoms)
        self._args = [frozenset(_ARG.findall(" ".join(p for p, _ in a.goal))) for a in self.atoms]
        self.objects = sorted(set().union(*self._args))
        phrasings = [p for a in self.atoms for p in a.phrasings]
        self.verbs = frozenset(_words(p)[0] for p in phrasings)
        nouns = {m for p in phrasings for m in re.findall(r"\bthe (\w+)", p.lower())}
        self.fixtures = frozenset(nouns - set(self.objects))
        vocab = {w for p in phrasings for w in _words(p)}
        self.object_nouns = frozenset(m for p in phrasings for m in re.findall(
            r"\b(?:" + "|".join(map(re.escape, self.objects)) + r") (\w+)", p.lower())) if self.objects else frozenset()
        self.action_words = frozenset(vocab - set(self.objects) - self.object_nouns - _STOPWORDS
                                      - set(_PREPOSITIONS) - {"block", "blocks"})
        self._bank = [(p, i) for i, a in enumerate(self.atoms) for p in a.phrasings]

    @property
    def persistent(self) -> frozenset[str]:
        """Predicates that object-free atoms make hold (fixture states such as ``drawer_open``): what an
        accepted proposal leaves behind, as opposed to intermediate states such as holding a block."""
        return frozenset(p for a, args in zip(self.atoms, self._args, strict=True) if not args for p, _ in a.goal)

    def accept_proposal(self, amendment: Amendment, proposal: str, state: Mapping[str, Any] | None) -> None:
        """For an additive correction ("also close the window") shown the proposal ``proposal``: add to
        ``amendment.require`` the fixture predicates (:attr:`persistent`) that ``proposal`` would make hold from
        discrete ``state`` — the person accepted it and asked for more. No-op without a symbolic domain."""
        domain = self.scene.domain
        if not amendment.additive or domain is None or state is None or proposal not in domain.actions:
            return
        spec = domain.actions[proposal]
        if not spec.applicable(state):
            return
        nxt = spec.apply(state)
        for p in sorted(self.persistent):
            if domain.holds(nxt, p) and not domain.holds(state, p) and p not in amendment.require:
                amendment.require[p] = True
                amendment.clauses.append({"clause": f"(accepted proposal {proposal})", "read": f"require {p}"})

    def object_phrase(self, obj: str) -> str:
        """``"red"`` → ``"the red block"`` (the noun that follows the object's word in the scene's phrasings)."""
        for p in (p for a in self.atoms for p in a.phrasings):
            m = re.search(rf"\b{re.escape(obj)} (\w+)", p.lower())
            if m:
                return f"the {obj} {m.group(1)}"
        return f"the {obj}"

    def mentioned(self, text: str) -> list[str]:
        """The scene's objects named in ``text`` (whole words, e.g. ``["red"]``)."""
        return self._mentioned(text)

    def _mentioned(self, text: str) -> list[str]:
        words = set(_words(text))
        return [o for o in self.objects if o in words]

    def _focus(self, referent: str | None, instruction: str, state_objects: Sequence[str],
               previous: str | None) -> str | None:
        if referent is not None:
            return referent
        if len(state_objects) == 1:  # the object in the hand
            return state_objects[0]
        named = self._mentioned(instruction)
        if len(named) == 1:
            return named[0]
        return previous

    def _match(self, text: str, named: set[str], focus: str | None) -> tuple[int | None, float]:
        """The atom nearest to ``text`` and its cosine similarity. Candidates: the atoms about exactly the objects
        named, else the object-free atoms and those about the object in focus. Ranked by cosine similarity plus
        ``0.25 ×`` the Jaccard overlap of content words (embeddings alone confuse "keep the drawer open" with
        "push the drawer closed")."""
        def ok(args: frozenset[str]) -> bool:
            if named:
                return args == named
            return not args or (focus is not None and args <= {focus}) or focus is None

        allowed = [j for j, (_, i) in enumerate(self._bank) if ok(self._args[i])]
        if not allowed:
            return None, 0.0
        best, sim = nearest_phrasing(self.embed, text, [self._bank[j][0] for j in allowed])
        return self._bank[allowed[best]][1], sim

    def interpret(self, text: str, instruction: str = "", held: Sequence[str] = (),
                  previous_referent: str | None = None, threshold: float | None = None) -> Amendment:
        """Read ``text`` (a correction of ``instruction``).

        Args:
            text: the correction.
            instruction: the instruction being carried out (its single named object is the default focus).
            held: objects in the hand now (a single one is the focus of "it").
            previous_referent: the referent of an earlier correction in the episode.
            threshold: minimum clause–atom similarity (default: the interpreter's).

        Returns:
            The :class:`Amendment` (``understood`` is ``False`` when nothing matched; the clauses say why).
        """
        text = _check_text(text, "correction")
        if is_stop(text):
            return Amendment(text, stop=True, clauses=[{"clause": text, "read": "stop"}])
        t = re.sub(r"\b(instead of|rather than)\b", ", not", text.lower())
        raw = [c for c in _SPLIT.split(t) if c.strip()]
        parts = [(*_strip_edges(c), c.strip()) for c in raw]
        parts = [(c, neg, orig) for c, neg, orig in parts if c]
        amend = Amendment(text, additive=any(_ADDITIVE.search(c) for c in raw))
        # referent clauses first: an object named without any action or fixture word ("I meant the blue one")
        goal_parts = []
        for c, neg, orig in parts:
            ws = set(_words(c))
            named = self._mentioned(c)
            if len(named) == 1 and not (ws & self.action_words) and not neg:
                amend.referent = named[-1]
                amend.clauses.append({"clause": orig, "read": f"referent {named[-1]}"})
            else:
                goal_parts.append((c, neg, orig))
        focus = self._focus(amend.referent, instruction, list(held), previous_referent)
        if amend.referent is not None:
            amend.context.append(self.object_phrase(amend.referent))
        def resolve(c: str) -> str:
            if focus is not None:
                c = re.sub(r"\b(it|that one|this one|the one|one|them)\b", self.object_phrase(focus), c)
                if _words(c)[0] in _PREPOSITIONS:
                    c = f"put {self.object_phrase(focus)} {c}"
            return c

        resolved = [(resolve(c), neg, orig) for c, neg, orig in goal_parts]
        positives = [c for c, neg, _ in resolved if not neg and set(_words(c)) & self.verbs]
        for c, neg, orig in resolved:
            ws = _words(c)
            if neg and not (set(ws) & self.verbs) and (set(ws) & self.fixtures) and positives:
                # "not the drawer": the verb of the positive sibling, with this fixture
                fixture = [w for w in ws if w in self.fixtures][-1]
                olds = [w for w in _words(positives[0]) if w in self.fixtures]
                c = re.sub(rf"\b{olds[-1]}\b", fixture, positives[0]) if olds else f"{positives[0]} {c}"
            atom, sim = self._match(c, set(self._mentioned(c)), focus)
            read: dict[str, Any] = {"clause": orig, "as": c, "negated": neg, "similarity": round(sim, 3)}
            if atom is None or sim < (self.threshold if threshold is None else threshold):
                read["read"] = "not understood"
                amend.clauses.append(read)
                continue
            a = self.atoms[atom]
            read["atom"] = a.key
            if neg:
                if len(a.goal) != 1:
                    read["read"] = "not understood (negated conjunction)"
                    amend.clauses.append(read)
                    continue
                amend.require.update({p: not v for p, v in a.goal})
                read["read"] = "require " + ", ".join(f"not {p}" if v else p for p, v in a.goal)
            else:
                amend.require.update(dict(a.goal))
                amend.context.append(a.phrasings[0])
                read["read"] = "require " + ", ".join(p if v else f"not {p}" for p, v in a.goal)
            amend.clauses.append(read)
        return amend


# --------------------------------------------------------------------------------------- an episode's corrections
class Corrections:
    """The amendments applied in one episode (live corrections and retrieved memories) and their constraints.

    Args:
        scene: the scene (its symbolic domain, when it has one, gives vetoes and goal amendments).
    """

    def __init__(self, scene: Scene) -> None:
        self.scene = scene
        self.domain = scene.domain
        self.amendments: list[Amendment] = []
        self.require: dict[str, bool] = {}
        self.referent: str | None = None

    def __bool__(self) -> bool:
        return bool(self.amendments)

    def add(self, amendment: Amendment, state: Mapping[str, Any] | None = None) -> None:
        """Apply ``amendment`` after the earlier ones (a later requirement replaces a conflicting earlier one)."""
        if amendment.stop:
            return
        self.amendments.append(amendment)
        if amendment.referent is not None:
            self.referent = amendment.referent
        self.require = self._merge(self.require, amendment.require, state)

    def _merge(self, base: Mapping[str, bool], new: Mapping[str, bool],
               state: Mapping[str, Any] | None) -> dict[str, bool]:
        """``base`` with ``new`` on top; entries of ``base`` that cannot hold together with ``new`` (reachability
        from ``state`` in the symbolic domain) are dropped."""
        from skillstack.planners.symbolic import shortest_plan

        out = {k: v for k, v in base.items() if k not in new}
        if self.domain is not None and state is not None and new:
            out = {k: v for k, v in out.items()
                   if shortest_plan(self.domain, state, {**new, k: v}) is not None}
        return {**out, **new}

    def conflicts(self, require: Mapping[str, bool], explicit: Mapping[str, bool],
                  state: Mapping[str, Any] | None) -> list[str]:
        """The predicates of ``require`` (a remembered amendment) that contradict ``explicit`` (what the current
        instruction itself asks for): the same predicate with the other value, or (with a symbolic domain) one
        that cannot hold together with ``explicit`` from ``state``."""
        from skillstack.planners.symbolic import shortest_plan

        out = [k for k, v in require.items() if k in explicit and explicit[k] != v]
        if self.domain is not None and state is not None and explicit:
            out += [k for k, v in require.items() if k not in out and k not in explicit
                    and shortest_plan(self.domain, state, {**explicit, k: v}) is None]
        return out

    def instruction(self, instruction: str) -> str:
        """The instruction with the corrections' canonical phrasings appended (what language models score)."""
        extra = [c for a in self.amendments for c in a.context]
        extra = list(dict.fromkeys(extra))
        return instruction if not extra else f"{instruction}. " + ". ".join(extra)

    def amend_goal(self, goal: Mapping[str, bool] | None, state: Mapping[str, Any] | None) -> dict[str, bool] | None:
        """A planner's goal with the referent swapped in and the requirements on top (conflicts dropped)."""
        if goal is None and not self.require:
            return None
        g = dict(goal or {})
        if self.referent is not None:
            args = {a for k in g for a in _ARG.findall(k)}
            if len(args) == 1 and self.referent not in args:
                (old,) = args
                g = {k.replace(f"({old})", f"({self.referent})"): v for k, v in g.items()}
        return self._merge(g, self.require, state)

    def filter(self, candidates: Sequence[Candidate], predicates: Mapping[str, bool]) -> tuple[list[Candidate],
                                                                                                dict[str, str]]:
        """The candidates a planner may choose under the requirements, and why each other one was withheld.

        ``done`` is withheld while a required predicate does not hold. With a symbolic domain, a skill is vetoed
        when it would make a required predicate that holds false although the requirement can be reached without
        ever making it false, or when it would make the requirement unreachable.
        """
        if not self.require:
            return list(candidates), {}
        why: dict[str, str] = {}
        missing = [k for k, v in self.require.items() if k in predicates and bool(predicates[k]) != v]
        if missing:
            why[DONE] = "required: " + ", ".join(missing)
        if self.domain is not None:
            from skillstack.planners.symbolic import satisfies, shortest_plan

            d = self.domain
            state = d.state_of(predicates)
            reachable = shortest_plan(d, state, self.require) is not None
            for c in candidates:
                spec = d.actions.get(c.name)
                if spec is None or not spec.applicable(state):
                    continue
                nxt = spec.apply(state)
                broken = [k for k, v in self.require.items() if d.holds(state, k) == v and d.holds(nxt, k) != v]
                if broken and _reachable_keeping(d, state, self.require, broken):
                    why[c.name] = "would undo " + ", ".join(broken)
                    continue
                if reachable and not satisfies(d, nxt, self.require) and shortest_plan(d, nxt, self.require) is None:
                    why[c.name] = "dead end for the requirement"
        return [c for c in candidates if c.name not in why], why


def _reachable_keeping(domain: Any, start: Mapping[str, Any], goal: Mapping[str, bool], keep: Sequence[str]) -> bool:
    """Whether ``goal`` is reachable from ``start`` without ever making a predicate of ``keep`` change value."""
    from collections import deque

    from skillstack.planners.symbolic import satisfies

    fixed = {k: domain.holds(start, k) for k in keep}

    def key(s: Mapping[str, Any]) -> tuple:
        return tuple(sorted(s.items()))

    frontier, seen = deque([dict(start)]), {key(start)}
    while frontier:
        s = frontier.popleft()
        if satisfies(domain, s, goal):
            return True
        for a in domain.actions.values():
            if not a.applicable(s):
                continue
            n = a.apply(s)
            if any(domain.holds(n, k) != v for k, v in fixed.items()) or key(n) in seen:
                continue
            seen.add(key(n))
            frontier.append(n)
    return False


# --------------------------------------------------------------------------------------------------- memory
MEMORY_SCHEMA = "skillstack.correction-memory"
MEMORY_VERSION = 1
MAX_ENTRIES = 10_000
_ENTRY_KEYS = {"id", "created", "scene", "instruction", "state", "wrong_choice", "correction", "amendment", "fix"}


def default_memory_path() -> Path:
    """``$SKILLSTACK_MEMORY`` if set, else ``corrections.json`` in the user data directory
    (``platformdirs.user_data_dir("skillstack")``, e.g. ``~/.local/share/skillstack`` on Linux)."""
    env = os.environ.get("SKILLSTACK_MEMORY")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("skillstack")) / "corrections.json"


@dataclass(frozen=True)
class MemoryEntry:
    """One distilled correction (DROC-style knowledge).

    Attributes:
        id: content hash (scene, instruction, correction), 12 hex digits.
        created: ISO-8601 UTC time.
        scene: scene name.
        instruction: the instruction being carried out.
        state: grounded predicates when the correction was given.
        wrong_choice: the skill the planner had proposed (``None`` if it was only stopped or nothing was
            proposed).
        correction: the correction text.
        amendment: the :class:`Amendment` read from it (as a dict).
        fix: the skill chosen after the correction.
    """

    id: str
    created: str
    scene: str
    instruction: str
    state: dict[str, bool]
    wrong_choice: str | None
    correction: str
    amendment: dict[str, Any]
    fix: str | None

    @staticmethod
    def make(scene: str, instruction: str, state: Mapping[str, bool], wrong_choice: str | None, correction: str,
             amendment: Amendment, fix: str | None) -> MemoryEntry:
        digest = hashlib.sha256(json.dumps([scene, instruction, correction]).encode()).hexdigest()[:12]
        now = _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()
        return MemoryEntry(digest, now, scene, instruction, {k: bool(v) for k, v in state.items()}, wrong_choice,
                           correction, amendment.to_dict(), fix)

    def to_amendment(self) -> Amendment:
        a = self.amendment
        return Amendment(self.correction, False, dict(a.get("require", {})), a.get("referent"),
                         list(a.get("context", [])), list(a.get("clauses", [])), bool(a.get("additive", False)))


def _check_entry(e: Any, where: str) -> MemoryEntry:
    def bad(why: str) -> CorrectionError:
        return CorrectionError(f"{where}: {why}")

    if not isinstance(e, dict) or set(e) != _ENTRY_KEYS:
        raise bad(f"an entry must be an object with exactly the keys {sorted(_ENTRY_KEYS)}")
    for k in ("id", "created", "scene", "instruction", "correction"):
        if not isinstance(e[k], str) or len(e[k]) > MAX_TEXT * 2:
            raise bad(f"'{k}' must be a string of at most {MAX_TEXT * 2} characters")
    if not re.fullmatch(r"[0-9a-f]{12}", e["id"]):
        raise bad(f"'id' must be 12 hex digits, got {e['id']!r}")
    for k in ("wrong_choice", "fix"):
        if e[k] is not None and (not isinstance(e[k], str) or len(e[k]) > 200):
            raise bad(f"'{k}' must be a skill name or null")
    if not isinstance(e["state"], dict) or not all(isinstance(k, str) and isinstance(v, bool)
                                                   for k, v in e["state"].items()):
        raise bad("'state' must map predicate names to true/false")
    a = e["amendment"]
    if not isinstance(a, dict):
        raise bad("'amendment' must be an object")
    req = a.get("require", {})
    if not isinstance(req, dict) or not all(isinstance(k, str) and isinstance(v, bool) for k, v in req.items()):
        raise bad("'amendment.require' must map predicate names to true/false")
    if a.get("referent") is not None and not isinstance(a.get("referent"), str):
        raise bad("'amendment.referent' must be a string or null")
    ctx = a.get("context", [])
    if not isinstance(ctx, list) or not all(isinstance(c, str) and len(c) <= MAX_TEXT for c in ctx):
        raise bad("'amendment.context' must be a list of strings")
    if not isinstance(a.get("clauses", []), list):
        raise bad("'amendment.clauses' must be a list")
    return MemoryEntry(**e)


class CorrectionMemory:
    """A local file of distilled corrections, retrieved by instruction similarity (module docstring).

    The file is JSON ``{"schema": "skillstack.correction-memory", "schema_version": 1, "entries": [...]}``,
    read with a size/depth cap, validated entry by entry (a malformed or hostile file is refused with one
    :class:`CorrectionError` line; nothing in it is ever executed) and rewritten atomically (temp file, fsync,
    rename) on every change, so a crash mid-write leaves the previous file.

    Args:
        path: the memory file (default :func:`default_memory_path`); a missing file is an empty memory.
        embedder: sentence embeddings for retrieval (default: the bundled MiniLM).

    Raises:
        CorrectionError: the file exists but is not a valid memory.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, embedder: Embedder | None = None) -> None:
        self.path = Path(path) if path is not None else default_memory_path()
        self.embed = embedder or Embedder()
        self.entries: list[MemoryEntry] = self._load()

    def _load(self) -> list[MemoryEntry]:
        if not self.path.exists():
            return []
        try:
            data = read_json_capped(self.path, max_bytes=32 << 20, max_depth=16)
        except (OSError, JSONReadError) as e:
            raise CorrectionError(f"correction memory {self.path}: {e}") from None
        if not isinstance(data, dict) or data.get("schema") != MEMORY_SCHEMA:
            raise CorrectionError(f"correction memory {self.path}: not a skillstack correction memory (expected "
                                  f"'schema': '{MEMORY_SCHEMA}')")
        if data.get("schema_version") != MEMORY_VERSION:
            raise CorrectionError(f"correction memory {self.path}: schema_version {data.get('schema_version')!r}, "
                                  f"this skillstack reads version {MEMORY_VERSION}")
        entries = data.get("entries")
        if not isinstance(entries, list) or len(entries) > MAX_ENTRIES:
            raise CorrectionError(f"correction memory {self.path}: 'entries' must be a list of at most "
                                  f"{MAX_ENTRIES} entries")
        out = [_check_entry(e, f"correction memory {self.path}: entry {i}") for i, e in enumerate(entries)]
        if len({e.id for e in out}) != len(out):
            raise CorrectionError(f"correction memory {self.path}: duplicate entry ids")
        return out

    def save(self) -> None:
        """Write the memory atomically."""
        atomic_write_json(self.path, {"schema": MEMORY_SCHEMA, "schema_version": MEMORY_VERSION,
                                      "entries": [asdict(e) for e in self.entries]})

    def add(self, entry: MemoryEntry, save: bool = True) -> None:
        """Add ``entry`` (replacing an entry with the same id) and save."""
        self.entries = [e for e in self.entries if e.id != entry.id] + [entry]
        if save:
            self.save()

    def get(self, entry_id: str) -> MemoryEntry:
        """The entry whose id starts with ``entry_id``.

        Raises:
            KeyError: no entry or more than one matches (the message lists the ids).
        """
        hits = [e for e in self.entries if e.id.startswith(entry_id)] if entry_id else []
        if len(hits) != 1:
            ids = ", ".join(e.id for e in self.entries) or "none"
            raise KeyError(f"{'no' if not hits else 'more than one'} memory entry with id {entry_id!r} "
                           f"(ids: {ids})")
        return hits[0]

    def forget(self, entry_id: str) -> MemoryEntry:
        """Remove the entry ``entry_id`` (a unique prefix) and save. Raises ``KeyError`` as :meth:`get`."""
        e = self.get(entry_id)
        self.entries = [x for x in self.entries if x.id != e.id]
        self.save()
        return e

    def retrieve(self, instruction: str, scene: str, k: int = 2, threshold: float = 0.75, margin: float = 0.05
                 ) -> list[tuple[MemoryEntry, float]]:
        """The ``k`` entries of ``scene`` most similar to ``instruction``, least similar first (so the most similar
        is applied last); ties break by id.

        Similarity: the largest cosine between the entry's instruction and the new instruction or one of its
        clauses (split at commas, "and", "then", "after"), so knowledge about "put the block away" is found in
        "put the block away and open the window". Entries below ``threshold``, or more than ``margin`` below the
        best entry, are not returned (a near miss such as "get rid of the blue block" for "tidy away the blue
        block" must not ride along with the exact match).
        """
        pool = [e for e in self.entries if e.scene == scene]
        if not pool:
            return []
        parts = [instruction] + [c.strip() for c in _SPLIT.split(instruction.lower()) if len(_words(c)) >= 2]
        q = self.embed(list(dict.fromkeys(parts)))
        sims = (self.embed([e.instruction for e in pool]) @ q.T).max(axis=1)
        ranked = sorted(zip(pool, sims.tolist(), strict=True), key=lambda p: (-round(p[1], 6), p[0].id))
        best = ranked[0][1]
        hits = [(e, s) for e, s in ranked[:k] if s >= threshold and s >= best - margin]
        return hits[::-1]
