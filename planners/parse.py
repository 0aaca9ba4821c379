"""Goal grounding by semantic parsing: instruction → goal over predicates with sentence embeddings, no generation.

The ``goal-grounding`` planner asks a generative LM to write the goal; the shipped 135 M-parameter model cannot map
a new word ("crimson", "wastebasket") to a predicate. This planner parses the goal instead, the way the correction
interpreter (:mod:`skillstack.planners.corrections`) reads corrections, and hands it to the same breadth-first
planner and closed-loop executor:

1. The instruction is split into clauses at punctuation and conjunctions (*and, then, after that, once, …*).
2. A clause that only describes the state ("the drawer is open", "it's cold in here") sets no goal; its noun
   phrase is still an antecedent for a later *it*.
3. A clause without a verb borrows its predecessor's ("close the drawer **and the window**", "put the red block in
   the drawer, **the blue block in the bin**").
4. Pronouns (*it, them, that*) are replaced by the antecedent noun phrase — of the earlier clauses' noun phrases,
   the one whose substitution matches a sub-goal best ("put the blue block in the drawer and close **it**" → the
   drawer; "pick up the red block and put **it** in the bin" → the red block). "The block" with one block in the
   hand means that block ("put the block you are holding in the bin").
5. Each clause is matched to the nearest sub-goal phrasing: the scene's templated atoms
   (:class:`~skillstack.envs.scenes.TemplateLanguage`) and every symbolic action's description grounded for each
   object ("put the red block down on the table" → ``block_on_table(red), hand_empty``), by cosine similarity of
   MiniLM embeddings plus a lexical overlap term (free-form step → admissible skill by embedding similarity, as
   Huang et al. 2022 translate LM steps; the restriction to the objects named follows the correction interpreter).
6. The clauses' goals are merged in order; a later goal overrides an earlier one it cannot hold together with
   (reachability in the symbolic domain: "pick up the red block **and put it in the bin**" keeps only the bin).
7. Before step 1, an instruction in another language is rewritten into the scene's English by the scene's
   multilingual lexicon (:mod:`skillstack.planners.lexicon`), whose extra English phrasings join the bank.

Limits (measured in the README): implicit goals without an action word ("it's stuffy in here") are not understood,
and languages or words outside the lexicon reach the English-only MiniLM as noise (a local multilingual
sentence-embedding model can be given with ``--model``; none installs offline here); the planner then answers
``done`` with the reason logged.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from skillstack.envs.scenes import Scene
from skillstack.planners.base import EpisodeContext, PlannerSpec, register_planner
from skillstack.planners.corrections import _STOPWORDS, Embedder, _strip_edges, _words, nearest_phrasing
from skillstack.planners.grounding import GoalGroundingPlanner, goal_text
from skillstack.planners.lexicon import Lexicon
from skillstack.planners.symbolic import shortest_plan

_SPLIT = re.compile(r"[,;:.!?]|\bbut\b|\band then\b|\bafter that\b|\bafterwards\b|\bthen\b|\band\b|\bas well as\b"
                    r"|\bafter\b|\bbefore\b|\bonce\b|\bfinally\b|\bfirst\b|\bnext\b|\blastly\b")
_COPULA = re.compile(r"\b(is|are|was|were|it's|feels|seems|looks|i'm|i am)\b")
_MODAL = re.compile(r"\b(should|must|needs?|has to|have to|want|wants|make sure|ensure|ought|leave|keep|get)\b")
_DETERMINERS = ("the", "both", "all", "each", "every", "my", "your", "this", "that", "these", "those")
_PRONOUN = re.compile(r"\b(it|them|that one|this one|the one)\b")
_GENERIC_OBJECT = re.compile(r"\bthe (block|cube|object|thing|item|one)\b")
_SUBJECTS = frozenset({"it", "it's", "i", "i'm", "we", "there", "there's", "here", "that's", "this"})
_LEFT_STATE = re.compile(r"^(someone|somebody|you|i|we|they)\s+(left|forgot|has left|have left)\b")
"""A past action that explains the state ("someone left the drawer open"): a state description, not a goal."""
_CONTRACTED_IS = re.compile(r"\b([a-z]+)'s\s+(already|still|open|closed|shut|empty|full|in|inside)\b")
_HELD = re.compile(r"\bwhat(?:ever)?\s+(?:you're|you are)\s+(?:holding|carrying)\b"
                   r"|\bwhat you(?:'ve| have)? got\b|\bwhat(?:'s| is) in your (?:hand|gripper)\b"
                   r"|\bwhat you have in your (?:hand|gripper)\b")
"""A description of whatever the hand holds ("put what you're holding in the bin") → the held object."""
_LOCATION_ANAPHOR = re.compile(r"\b(?:in|into)\s+(?:there|here)\b|\binside\b(?!\s+(?:the|of)\b)"
                               r"|\bin\s+(?:too|as well)\b|\bin$")
"""A location given only by reference ("put the red block in there", "put the blue one in too")."""
_MODIFIED = re.compile(r"\bthe ([a-z]+) ([a-z]+)\b")
_NOUN_PHRASE = re.compile(r"\b(?:the|both|all|my|your|this|that)\s+(?:[a-z]+\s+)?[a-z]+")
_NOT_NOUNS = frozenset({"is", "are", "was", "were", "feels", "seems", "looks", "has", "have", "in", "into", "inside",
                        "on", "onto", "to", "away", "down", "up", "out", "please", "for", "me", "afterwards", "too",
                        "it", "back", "open", "closed", "shut", "ajar", "already", "still"})


def _noun_phrases(clause: str) -> list[str]:
    """``"put the red block in the drawer"`` → ``["the red block", "the drawer"]`` (determiner + ≤ 2 words)."""
    out = []
    for p in _NOUN_PHRASE.findall(clause):
        ws = p.split()
        while len(ws) > 1 and ws[-1] in _NOT_NOUNS:
            ws.pop()
        if len(ws) > 1:
            out.append(" ".join(ws))
    return out


@dataclass(frozen=True)
class SubGoal:
    """A phrasing of a sub-goal: ``text`` (e.g. ``"put the red block in the bin"``), its goal predicates and the
    scene objects it is about."""

    text: str
    goal: tuple[tuple[str, bool], ...]
    objects: frozenset[str]


class InstructionParser:
    """Parses an instruction into a goal over a scene's predicates (module docstring).

    Args:
        scene: a scene with a symbolic domain and a templated language.
        embedder: an :class:`~skillstack.planners.corrections.Embedder` (default: the bundled MiniLM).
        threshold: minimum cosine similarity between a clause and a sub-goal phrasing to accept the match.
        lexical_weight: weight of the Jaccard overlap of content words added to the cosine similarity.
        lexicon: a multilingual :class:`~skillstack.planners.lexicon.Lexicon` (other languages rewritten into the
            scene's English before parsing; its extra phrasings join the sub-goal bank); default: the scene's
            :attr:`~skillstack.envs.scenes.Scene.lexicon` file when it declares one. ``False``: none.

    Raises:
        ValueError: the scene has no symbolic domain or no templated language.
        LexiconError: the scene's lexicon file is malformed.
    """

    def __init__(self, scene: Scene, embedder: Embedder | None = None, threshold: float = 0.5,
                 lexical_weight: float = 0.25, lexicon: Lexicon | bool | None = None) -> None:
        self.domain = scene.require_domain("the goal-parsing planner")
        if scene.language is None:
            raise ValueError(f"scene {scene.name!r} has no templated language: instructions cannot be parsed")
        self.scene = scene
        self.embed = embedder or Embedder()
        self.threshold, self.lexical_weight = threshold, lexical_weight
        arg = re.compile(r"\(([a-z0-9_]+)\)")
        bank: dict[str, SubGoal] = {}
        for a in scene.language.atoms:
            objs = frozenset(m for p, _ in a.goal for m in arg.findall(p))
            for p in a.phrasings:
                bank.setdefault(p.lower(), SubGoal(p.lower(), tuple(a.goal), objs))
        self.objects = sorted({o for s in bank.values() for o in s.objects})
        noun = self._object_noun(bank)
        for spec in self.domain.actions.values():
            desc = spec.description.lower()
            if any("(b)" in e for e in spec.effects):
                for o in self.objects:  # "put the block in the bin" for each object
                    text = desc.replace(f"the {noun}", f"the {o} {noun}") if f"the {noun}" in desc else desc
                    goal = tuple((e.replace("(b)", f"({o})"), True) for e in spec.effects)
                    bank.setdefault(text, SubGoal(text, goal, frozenset({o})))
            elif spec.effects:
                objs = frozenset(m for e in spec.effects for m in arg.findall(e))
                bank.setdefault(desc, SubGoal(desc, tuple((e, True) for e in spec.effects), objs))
        if lexicon is None and scene.lexicon is not None:
            lexicon = Lexicon.load(scene.lexicon, english=list(bank))
        self.lexicon = lexicon if isinstance(lexicon, Lexicon) else None
        if self.lexicon is not None:
            for text, more in self.lexicon.phrasings.items():
                for o in self.objects if "{object}" in text else [None]:
                    sub = bank.get(text.replace("{object}", o) if o else text)
                    if sub is None:
                        raise ValueError(f"lexicon phrasing {text!r} is none of the scene's sub-goal phrasings")
                    for m in more:
                        t = m.replace("{object}", o) if o else m
                        bank.setdefault(t, SubGoal(t, sub.goal, sub.objects))
        self.bank = list(bank.values())
        self.noun = noun
        # containers named in the scene's phrasings ("in the drawer", "in the bin"): what "in there" can refer to
        self.locations = sorted({m.group(1) for t in bank for m in re.finditer(r"\bin the ([a-z]+)", t)}
                                - set(self.objects) - {noun})

    def _object_noun(self, bank: Mapping[str, SubGoal]) -> str:
        for s in bank.values():
            for o in s.objects:
                m = re.search(rf"\b{re.escape(o)} (\w+)", s.text)
                if m:
                    return m.group(1)
        return "object"

    # ----------------------------------------------------------------------------------------------- matching
    def match(self, clause: str, held: Sequence[str] = ()) -> tuple[SubGoal | None, float]:
        """The sub-goal phrasing nearest to ``clause`` and its cosine similarity (``(None, 0.0)`` when no
        phrasing is admissible). Admissible: the phrasings about exactly the scene objects named in the clause;
        else, for "the block" with one block in ``held``, those about that block or no object; else all."""
        words = set(_words(clause))
        named = frozenset(o for o in self.objects if o in words)
        if named:
            allowed = [s for s in self.bank if s.objects == named]
        elif len(held) == 1 and _GENERIC_OBJECT.search(clause):
            allowed = [s for s in self.bank if not s.objects or s.objects == {held[0]}]
        else:
            allowed = list(self.bank)
        if not allowed:
            return None, 0.0
        best, sim = nearest_phrasing(self.embed, clause, [s.text for s in allowed], self.lexical_weight)
        return allowed[best], sim

    def resolve_modifier(self, clause: str) -> str | None:
        """``"grab the crimson cube"`` → ``"grab the red cube"``: an unknown modifier of a noun is read as the
        scene object whose phrase is nearest (cosine of ``"the crimson block"`` and ``"the red block"``, the scene's
        own object noun in both) — a forced choice among the objects present, as a person reads "the crimson cube"
        in a scene with a red and a blue block. ``None`` when the clause has no ``the <word> <noun>``."""
        if not self.objects:
            return None
        best: tuple[float, str | None] = (-1.0, None)
        for w, _ in _MODIFIED.findall(clause):
            if w in _STOPWORDS or w in self.objects:
                continue
            sims = self.embed([f"the {o} {self.noun}" for o in self.objects]) @ self.embed([f"the {w} {self.noun}"])[0]
            k = int(np.argmax(sims))
            if sims[k] > best[0]:
                best = (float(sims[k]), re.sub(rf"\bthe {re.escape(w)}\b", f"the {self.objects[k]}", clause, count=1))
        return best[1]

    # ------------------------------------------------------------------------------------------------ parsing
    def parse(self, instruction: str, state: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The goal of ``instruction`` from discrete ``state`` (the start of the episode).

        Returns:
            ``{"goal": {predicate: bool} or None, "status": "valid" | "rejected: <why>", "clauses": [...]}``; each
            clause entry says how it was read (``as`` the rewritten clause, the matched sub-goal, its similarity).
        """
        held = [o for o in self.objects if state is not None and state.get(o) == "hand"]
        translation = self.lexicon.translate(instruction) if self.lexicon is not None else None
        if translation is not None and translation.language is not None:
            # noun before colour ("le bloc rouge" → "the block red") read as colour before noun
            objs = "|".join(map(re.escape, self.objects))
            instruction = re.sub(rf"\b({re.escape(self.noun)}s?|cubes?) ({objs})\b", r"\2 \1", translation.text)
        raw = [c.strip() for c in _SPLIT.split(instruction.lower()) if c.strip()]
        reads: list[dict[str, Any]] = []
        antecedents: list[str] = []  # noun phrases mentioned so far, most recent last
        verb = ""
        goal: dict[str, bool] = {}
        for orig in raw:
            c, negated = _strip_edges(orig)
            c = _CONTRACTED_IS.sub(r"\1 is \2", c)  # "the drawer's already open"
            if len(held) == 1:
                c = _HELD.sub(f"the {held[0]} {self.noun}", c)
            ws = _words(c)
            if not ws or not (set(ws) - _STOPWORDS):
                continue
            phrases = _noun_phrases(c)
            if ((ws[0] in _DETERMINERS or ws[0] in _SUBJECTS or _COPULA.match(c)) and _COPULA.search(c)
                    and not _MODAL.search(c)) or _LEFT_STATE.match(c):
                reads.append({"clause": orig, "read": "state description (no goal)"})
                antecedents += phrases  # "the blue block is in the drawer, so close it": both can be "it"
                continue
            place = next((p for p in reversed(antecedents) if p.split()[-1] in self.locations), None)
            if place is not None and _LOCATION_ANAPHOR.search(c):
                c = _LOCATION_ANAPHOR.sub(f"in {place}", c, count=1)  # "put the red block in there"
            if ws[0] in _DETERMINERS or ws[0] in self.objects:
                c = f"{verb} {c}".strip()  # "... and the window": the predecessor's verb
            else:
                first = next((i for i, w in enumerate(ws) if w in _DETERMINERS or _PRONOUN.match(w)), len(ws))
                verb = " ".join(ws[:first])
            read: dict[str, Any] = {"clause": orig, "negated": negated}
            options = [c]
            if _PRONOUN.search(c):
                options = [_PRONOUN.sub(p, c, count=1) for p in reversed(antecedents)] or [c]
            best: tuple[SubGoal | None, float, str] = (None, -1.0, c)
            for o in options:
                sub, sim = self.match(o, held)
                if sim > best[1] + 1e-6:
                    best = (sub, sim, o)
            sub, sim, c = best
            if sim < self.threshold and not (set(_words(c)) & set(self.objects)):
                resolved = self.resolve_modifier(c)
                if resolved is not None:
                    sub2, sim2 = self.match(resolved, held)
                    if sim2 > sim:
                        sub, sim, c = sub2, sim2, resolved
            read.update({"as": c, "similarity": round(sim, 3)})
            antecedents += _noun_phrases(c)
            if sub is None or sim < self.threshold:
                read["read"] = "not understood"
                reads.append(read)
                continue
            new = {p: (not v if negated else v) for p, v in sub.goal}
            if negated and len(sub.goal) != 1:
                read["read"] = "not understood (negated conjunction)"
                reads.append(read)
                continue
            read.update({"sub_goal": sub.text, "read": goal_text(new)})
            reads.append(read)
            goal = self._merge(goal, new, state)
        extra = ({"translated": {"language": translation.language, "text": instruction}}
                 if translation is not None and translation.language is not None else {})
        if not goal:
            return {"goal": None, "status": "rejected: no clause names a sub-goal of this scene", "clauses": reads,
                    **extra}
        if state is not None and shortest_plan(self.domain, state, goal) is None:
            return {"goal": None, "status": f"rejected: the goal {goal_text(goal)} cannot be reached",
                    "clauses": reads, **extra}
        return {"goal": goal, "status": "valid", "clauses": reads, **extra}

    def _merge(self, goal: Mapping[str, bool], new: Mapping[str, bool],
               state: Mapping[str, Any] | None) -> dict[str, bool]:
        """``goal`` with ``new`` on top; earlier predicates that cannot hold together with ``new`` are dropped."""
        start = dict(state) if state is not None else dict(self.domain.default_state)
        kept = {p: v for p, v in goal.items() if p not in new
                and shortest_plan(self.domain, start, {**new, p: v}) is not None}
        return {**kept, **new}


class GoalParsingPlanner(GoalGroundingPlanner):
    """Goal grounding with :class:`InstructionParser` instead of a generative LM; the rest (breadth-first plan
    from the current state at every decision, corrections, affordances in every decision) is the
    ``goal-grounding`` planner's.

    Args:
        scene: a scene with a symbolic domain and a templated language.
        threshold: see :class:`InstructionParser`.
        embedder: see :class:`InstructionParser`.
        backend: ``"embedding"`` (the only kind this planner uses: a sentence-embedding model).
        model_path: a local sentence-transformers model directory (e.g. a multilingual one) instead of the
            bundled MiniLM; never downloaded.

    Raises:
        ValueError: the scene has no symbolic domain or no templated language, or ``backend`` is not
            ``"embedding"``.
        FileNotFoundError: ``model_path`` does not exist.
    """

    name = "goal-grounding-parse"

    def __init__(self, scene: Scene, threshold: float = 0.5, embedder: Embedder | None = None,
                 backend: str = "embedding", model_path: str | None = None) -> None:
        if backend != "embedding":
            raise ValueError(f"the goal-grounding-parse planner uses a sentence-embedding model: backend must be "
                             f"'embedding', got {backend!r}")
        if embedder is None and model_path is not None:
            from sentence_transformers import SentenceTransformer

            if not Path(model_path).exists():
                raise FileNotFoundError(f"sentence-transformers model not found: {model_path}")
            embedder = Embedder(SentenceTransformer(model_path, device="cpu"))
        self.scene = scene
        self.domain = scene.require_domain("the goal-parsing planner")
        self.parser = InstructionParser(scene, embedder=embedder, threshold=threshold)
        self._grounded: dict[str, dict[str, Any]] = {}
        self.state_fn: Any = None
        self.corrections: Any = None

    def reset(self, context: EpisodeContext) -> None:
        """New episode: forget the grounded goal (it depends on the start state) and read the discrete state."""
        super().reset(context)
        self._grounded = {}

    def ground(self, instruction: str, state: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The parsed goal of ``instruction`` (grounded once per episode, from the first decision's state)."""
        if instruction not in self._grounded:
            self._grounded[instruction] = self.parser.parse(instruction, state)
        return self._grounded[instruction]


register_planner(PlannerSpec(
    "goal-grounding-parse", GoalParsingPlanner, "the instruction is parsed into a goal over the scene's predicates "
    "(clauses matched to sub-goal phrasings by sentence embeddings, no generative LM), breadth-first search plans "
    "it", needs_domain=True, language_model=True))
