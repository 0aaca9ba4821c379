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
   multilingual lexicon (:mod:`skillstack.planners.lexicon`), whose extra English phrasings join the bank; a word
   the MiniLM tokenizer does not know is corrected to the nearest word of the scene's phrasings ("buton").
8. Requests that depend on the start state (they need ``state``): "leave the drawer as it is" / "don't touch the
   window" keep that object's predicates as they are; "toggle the drawer" asks for its other state (open ↔
   closed); a described past action ("you accidentally opened the drawer", "someone pressed the button") is state,
   and a following "undo that" asks for the lexicon's inverse of it; a conditional ("if the drawer is open, close
   it; otherwise …") keeps only the branch its condition selects in the state the earlier requests lead to (an
   alternative condition — "…; if it is closed, open it" — in the state its predecessor was read in).
9. When no clause names a goal, every clause is a state description or a complaint, and none is negated, the
   instruction is matched to the lexicon's implicit requests ("it's freezing in here" → close the window); a goal
   that already holds is no request.

Limits (measured in docs/results/planning.md): languages or words outside the lexicon reach the English-only
MiniLM as noise (a local multilingual sentence-embedding model can be given with ``--model``; none installs
offline here), and wording with no rule or phrasing is "not understood"; the planner then answers ``done`` with the
reason logged.
"""

from __future__ import annotations

import difflib
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
from skillstack.planners.symbolic import apply_plan, shortest_plan

_SPLIT = re.compile(r"\bstep \d+\b|\(?\b\d+\)|\b\d+\.(?!\d)"  # numbered steps: "1) open the drawer 2) ..."
                    r"|\(?\b[a-h]\)"  # lettered steps: "a) grab the red block b) put it in the bin", "(a) ..."
                    r"|[,;:.!?]|\s[\u2014\u2013-]+\s|[\u2014\u2013]"  # dashes split clauses like commas
                    r"|\s*(?:-+>|=+>|\u2192)\s*"  # arrows: "pick the blue block -> put it in the bin"
                    r"|\bbut\b|\band then\b|\bafter that\b|\bafterwards\b|\bthen\b|\band\b|\bas well as\b"
                    r"|\bafter\b|\bbefore\b|\bonce\b|\bfinally\b|\bfirst\b|\bnext\b(?!\s+to\b)|\blastly\b")
_COPULA = re.compile(r"\b(is|are|was|were|been|it's|feels|seems|looks|i'm|i am)\b")
_INTERJECTION = re.compile(r"^(?:(?:ugh+|hey|um+|uh+|hmm+|well|so|yo|oops|argh+|brr+|pls|plz|ok so|okay so|oh)"
                           r"(?:\s+|$))+")
"""Interjections before a clause ("ugh the drawer's been hanging open all day") or as a clause of their own
("brr, it's cold")."""
_TOGGLE = re.compile(r"^(?:toggle|flip|switch)\s+(?P<np>the\s+[a-z]+)(?:\s+(?:state|position))?$")
"""Toggle something with an open and a closed state: open it when it is not open, else close it ("switch the red
block with the blue one", "switch the window to open" are no toggles)."""
_MODAL = re.compile(r"\b(should|must|needs?|has to|have to|want|wants|make sure|ensure|ought|leave|keep|get)\b")
_DETERMINERS = ("the", "both", "all", "each", "every", "my", "your", "this", "that", "these", "those")
_PRONOUN = re.compile(r"\b(it|them|that one|this one|the one)\b")
_GENERIC_OBJECT = re.compile(r"\b(?:the|that|this) (block|cube|object|thing|item|one)\b")
_SUBJECTS = frozenset({"it", "it's", "i", "i'm", "we", "there", "there's", "here", "that's", "this"})
_LEFT_STATE = re.compile(r"^(someone|somebody|you|i|we|they)\s+(left|forgot|has left|have left)\b")
"""A past action that explains the state ("someone left the drawer open"): a state description, not a goal."""
_PAST_ACTION = re.compile(r"^(?P<subject>someone|somebody|you|i|we|they)\s+(?:(?:just|accidentally|already|mistakenly|"
                          r"wrongly|by mistake)\s+)*(?!(?:wanted|needed|asked|meant|liked|hoped)\b)"
                          r"(?:[a-z]+ed|put|shut|threw|took|left)\b")
"""A past action ("you just opened the drawer by accident"): describes the state, and is what "undo that" undoes."""
_PAST_MARKER = re.compile(r"\b(?:accidentally|by accident|by mistake|mistakenly|already|earlier|wrongly)\b")
"""Marks a past action of "you"/"i"/"we" ("just" does not: "then you just put the block in it" is a request)."""
_UNDO_ONLY = re.compile(r"^(?:undo|revert|reverse|cancel)(?:\s+(?:that|it|this|what you did))?$")
_PUT_BACK = re.compile(r"^(?:take|change|put|set) (?:that|it|this|things) back(?: the way it was| how it was)?$")
"""A request to undo the action described just before it (``_PUT_BACK`` only when one was described: "pick up the
blue block, then put it back" is a place)."""


def _is_undo(clause: str) -> bool:
    return _UNDO_ONLY.match(clause) is not None or _PUT_BACK.match(clause) is not None
_KEEP_AS_IS = re.compile(r"^(?:leave|keep)\s+(?P<np>.+?)\s+(?:as it is|as is|alone|the way it is|how it is|"
                         r"where it is(?:\s+(?:on|in)\s+the\s+[a-z]+)?|untouched|unchanged|be)"
                         r"(?:\s+(?:though|too|either|please|for now))?$")
_STAYS = re.compile(r"^(?P<np>(?:the|that|this)\s+(?:[a-z]+\s+)?[a-z]+)\s+(?:stays|remains|can stay|should stay|"
                    r"must stay|stays put)(?:\s+(?:where it is|as it is|there|put))?$")
"""Keep something as it is, said of it: "the red one stays where it is"."""
_DONT_TOUCH = re.compile(r"^(?:touch|mess with|move|bother with|change)\s+(?P<np>the\s+(?:[a-z]+\s+)?[a-z]+)"
                         r"(?:\s+(?:though|too|either|at all|please|for now))?$")
"""Keep something as it is: "leave the drawer as it is", "don't touch the window" (after the negation is stripped),
"leave it where it is on the table" (*it*: the noun phrase mentioned last)."""
_BESIDE = re.compile(r"\s+(?:next to|beside|alongside|near|by)\s+the\s+(?:[a-z]+\s+)?[a-z]+\b")
"""Where at the destination ("put the red block into the drawer next to the blue one", "... on the table next to the
drawer"): neither a second object nor a second destination. Dropped only when another destination stays."""
_PLEA_ONLY = re.compile(r"^(?:(?:can|could|would|will) you\s+)?(?:please\s+)?(?:just\s+)?(?:fix|sort out|deal with|"
                        r"handle|take care of|do something about)\s+(?:it|that|this)(?:\s+(?:please|pls|now|already))?$"
                        r"|^sort (?:it|that|this) out(?:\s+(?:please|pls|now|already))?$")
"""A plea that names nothing ("fix it", "deal with that") after a state description or a complaint: the request is
the one the complaint implies ("someone left the drawer hanging open again. fix it" → close the drawer)."""
_REMINDER = re.compile(r"^(?:forget to|remember to|be sure to|make sure to)\s+")
"""A reminder ("don't forget to shut it", after the negation is stripped): asks for the action, no negation."""
_INNER_NEGATION = re.compile(r"\b(?:not|no|never|n't)\b|n't\b")
"""A negation inside a clause ("it's not cold in here"): no implicit request is read from such an instruction."""
_PLEA = re.compile(r"\b(?:do(?:ing)? something|fix(?:ing)? (?:it|that|this)|deal(?:ing)? with (?:it|that|this)|help)\b")
"""A plea without content ("can you do something about it?") beside a complaint."""
_COMPLAINT = re.compile(r"^(?:i|we)\s+(?:keep(?: on)?|can't|cannot|can barely|can hardly|could barely|hate|"
                        r"am tired of|'m tired of|am sick of|'m sick of|don't like|always)\b")
"""A first-person complaint ("I keep bumping my knee on that open drawer", "I can barely breathe"): describes the
state, like "it's cold in here"; a wish ("I want the drawer open", "I need ...") is a request (``_MODAL``)."""
_WISH = re.compile(r"\b(?:should|must|needs?|has to|have to|want|wants|make sure|ensure|ought)\b")
"""What turns a first-person sentence into a request ("we always need the window open"); unlike ``_MODAL``, not
"keep" ("I keep bumping into the drawer" is a complaint)."""
_HOLDING_STATE = re.compile(r"^(?:you're|you are|you've|you have)\s+(?:(?:still|currently|now|already|just)\s+)?"
                            r"(?:holding|carrying|gripping|got\b(?!\s+to\b))\b")
"""A description of what the hand holds ("but you're holding the red one right now", "you've already got the red one
in your hand"): state, not a request."""
_HEADING = re.compile(r"^(?:(?P<negative>don't|do not|dont|never|avoid|not|forbidden|prohibited)|do|action|actions|"
                      r"object|objects|target|task|tasks|steps?|etapes|pasos|schritte|goal|goals|goal state|"
                      r"instructions?|todo|to do|plan|note|please|request|order|sequence)$")
"""A label before a colon ("Action: pick up. Object: the blue block.", "Don't: touch the window"): no clause of its
own; a negative label negates the clauses after it up to the end of its sentence."""
_OTHER = re.compile(r"\bthe other (?:block|cube|one|piece|object|thing|brick)\b")
"""The object not mentioned last ("put the red block in the drawer and the other one in the bin")."""
_ARROW = re.compile(r"-+>|=+>|\u2192")
_ONE_ANAPHOR = re.compile(r"\b(?:that|this) one\b")
"""A demonstrative "that one" / "this one" given a destination ("drop that one in the bin"): the object mentioned
last, not the best-matching antecedent (without a destination it may be a fixture: "close that one")."""
_ELLIPTIC_PLACE = re.compile(r"^(?P<verb>(?:[a-z]+(?:\s+(?:it|them|down|away|back))?\s+)?)"
                             r"(?P<where>(?:in|into|inside|onto|on|to)\s+(?:the\s+)?(?P<loc>[a-z]+))"
                             r"(?:\s+(?:pls|plz|please|now|too|first|afterwards|as well))?$")
"""A destination whose object is left out ("pick the red block; place in bin", "... and into the trash"): the
object is the one mentioned last."""
_PLAIN_PLACE = re.compile(r"^(?:put|place|stash|stow|store|tuck|pop|drop|toss|dump|deposit|stick|shove)\s+"
                          r"the\s+[a-z]+(?:\s+(?:block|cube|one|brick))?$")
"""A place request without a destination ("mete el bloque azul" → "put the blue block")."""
_PLACE_VERBS = frozenset({"put", "place", "drop", "set", "throw", "toss", "move", "stow", "stash", "store", "tuck",
                          "hide", "bring", "take", "carry", "get", "dump", "deposit", "leave", "lay", "pop"})
_ENSURE = re.compile(r"^(?:make sure|ensure|be sure|see to it)(?: that)?\b")
_PARTICLES = frozenset({"up", "down", "away", "out", "in", "off", "back", "over"})
_COLOURED = re.compile(r"\b([a-z]+)[\s-]+(?:colou?red|hued|tinted)\b")
""""ruby-coloured piece" → "ruby piece": the colour word names the object."""
_CONTRACTED_IS = re.compile(r"\b([a-z]+)'s\s+(already|still|open|closed|shut|empty|full|in|inside|been|wide|all|"
                            r"half|completely|fully|totally|ajar|hanging|sticking|standing|sitting|being)\b")
_WHATEVER = re.compile(r"^(?:whatever|no matter (?:what|how)|regardless of(?: what| how)?)\s+(?:(?:state|position)\s+)?"
                       r"(?:it|they|the [a-z]+)(?:'s|'re| is| are)?(?:\s+(?:in|at))?"
                       r"(?:\s+(?:right\s+)?now|\s+currently|\s+at the moment)?$")
"""A clause that says the start state does not matter ("whatever state it's in now"): no request of its own."""
_HOLD_CONDITION = re.compile(r"^(?:you(?:'re| are) (?:holding|carrying)|you (?:have|hold|carry)(?: got)?)\s+"
                             r"(?:something|anything|a block|an object|a cube|something in your (?:hand|gripper))\b"
                             r"|^you (?:something|anything)(?: in your (?:hand|gripper))? (?:have|hold)\b")
"""A condition on the hand ("if you're holding something, put it on the table"; German word order "if you something
in your hand have"): true when an object is held, which is then what *it* names."""
_HELD = re.compile(r"\b(?:what(?:ever)?|the (?:one|block|cube|thing|object))\s+(?:that\s+)?(?:you're|you are)\s+"
                   r"(?:holding|carrying)\b|\bwhat(?:ever)? you(?:'ve| have)? got(?: in your (?:hand|gripper))?\b"
                   r"|\bwhat(?:'s| is) in your (?:hand|gripper)\b|\bwhat(?:ever)? you have in your (?:hand|gripper)\b")
"""A description of whatever the hand holds ("put what you're holding in the bin") → the held object."""
_LOCATION_ANAPHOR = re.compile(r"\b(?:in|into)\s+(?:there|here)\b|\binside\b(?!\s+(?:the|of)\b)"
                               r"|\bin\s+(?:too|as well)\b|\bin$")
"""A location given only by reference ("put the red block in there", "put the blue one in too")."""
_HELD_RELATIVE = re.compile(r"\bthe (?:block|cube|one|thing|object)\s*,?\s*(?:that|which)\s+(?:you're|you are)\s+"
                            r"(?:(?:currently|now|just|still)\s+)?(?:holding|carrying)\b\s*,?")
"""A relative clause naming the held object, commas included ("put the block, that you are holding, in the
drawer" — the German "den Block, den du gerade hältst"), resolved before the clauses are split."""
_WHICH_ONE = re.compile(r"\b(?:whichever\s+(?:block|cube|one)\s+(?:is\s+|'s\s+)?"
                        r"|the\s+(?:block|cube|one)\s+(?:(?:that|which)\s+(?:is\s+|'s\s+)|that's\s+|(?=still\b)))"
                        r"(?:still\s+)?(?:(?:lying|sitting|standing|resting|left)\s+)?"
                        r"(?P<where>on the table|in the drawer|in the bin|in your (?:hand|gripper))\b")
"""An object picked out by where it is in the start state: "whichever block is still (lying) on the table", "the block
that is in the drawer", "the one still in the bin". A bare "the cube on the table" is not one: there "on the table"
is more often the destination ("put the cube on the table")."""
_WHERE = {"on the table": "block_on_table({o})", "in the drawer": "block_in_drawer({o})",
          "in the bin": "block_in_bin({o})", "in your hand": "holding({o})", "in your gripper": "holding({o})"}
_SOURCE = re.compile(r"\s+(?:off|from|out of)\s+(?:of\s+)?the\s+(?:table|drawer|bin)\b")
"""Where a picked object comes from ("pick the blue block up off the table"): no destination, so not matched
against the place phrasings."""
_CONDITION = re.compile(r"^(?:if|in case)\s+(?P<cond>.+)$")
_AJAR = re.compile(r"\b(?:ajar|half[\s-]open|partly open|partially open|part[\s-]open|cracked open|half[\s-]"
                   r"(?:closed|shut))\b")
"""A fixture part-open, the symbolic domain's ``"ajar"`` (neither ``*_open`` nor ``*_closed`` holds)."""
_IF_THEN = re.compile(r"\bif\b(?P<cond>[^,;.!?]*?)\s+then\b")
""""IF drawer closed THEN open it": the "then" of a condition ends the condition, not the branch."""
_REWRITES = (
    (re.compile(r"\b(?:has not|hasn't|hasnt) been\b"), "is not"),  # "if the button hasn't been pressed yet"
    (re.compile(r"\b(?:have not|haven't|havent) been\b"), "are not"),
    (re.compile(r"\bhas been\b(?!\s+(?:open|opened|closed|shut|pressed)\s+(?:by|for|since|all)\b)"), "is"),
    (re.compile(r"\bthe (?:pull|slide|roll)[\s-]out (?=drawer\b)"), "the "),  # "the pull-out drawer"
    (re.compile(r"\bthe ((?:(?!and |or |then |to |it )[a-z]+ ){0,2}?)(?:switch|pushbutton)\b"
                r"(?=\s*(?:$|[,.;!?]|on\b|at\b|by\b|please\b|now\b|for\b|again\b|once\b|pls\b))"),
     r"the \1button"),  # "the big round switch (on the table)" — a noun, not the verb "switch the drawer"
    (re.compile(r"\bbutton (?:on|at|by) the table\b"), "button"),  # where the button is, not a destination
    (re.compile(r"\b(is|are)(\s+not)?\s+opened\b"), r"\1\2 open"),  # "is not opened yet": the state word
    (re.compile(r"\bem\b"), "them"),
    (re.compile(r"\bim\b"), "i'm"),
    (re.compile(r"\bdrawer (?:under|below|beneath) the table(?:\s?top)?\b"), "drawer"),  # where it is
    (re.compile(r"\bits\s+(?=(?:so|too|really|very|way|getting|freezing|cold|chilly|hot|warm|stuffy|open|closed|"
                r"shut|already|still|not)\b)"), "it is "),  # "brr its freezing in here"
)
"""Normalisations before the clauses are split: a perfect-tense or participle state ("hasn't been pressed" → "is not
pressed", "is not opened" → "is not open"), adjectives and nouns of the scene's fixtures ("the pull-out drawer", "the
drawer under the table top", "the big round switch" → the button, "the button on the table"), "em" for "them", "im"
for "i'm" and "its" before a state word for "it is"."""
_ELSE = re.compile(r"^(?:otherwise|else|if not|or else|if it is not|if it isn't|if not so)\b\s*(?P<rest>.*)$")
"""A conditional request: "if the drawer is open, close it; otherwise open it" — the condition is read against the
start state with the goal of the earlier clauses reached ("open the drawer, and if it is open, ..."), and only the
branch it selects names a goal. A condition right after another condition's branch, about the same fixture or object
(or *it*) and with no sequencing word between, is that condition's alternative and is read in the same state ("if
the drawer is ajar, close it; if it is closed, open it"). A branch runs to the next branch, the end of the sentence
(``.;!?``) or a sequencing word (*then, after that, finally, …*): in "if the drawer is closed, open it and put the
red block in it" both requests are conditional, in "if the drawer is open, close it, then press the button" the
press is not. A bare "otherwise," or "if not," starts the other branch with the clauses after it. "When" is no
condition: "when the drawer is open, put the red block in it" describes the order of the steps, not the start state."""
_BRANCH_END = re.compile(r"[;.!?]|\bstep \d+\b|\(?\b\d+\)|\(?\b[a-h]\)|\b\d+\.(?!\d)|\band then\b"
                         r"|\bafter that\b|\bafterwards\b|\bthen\b|\bfinally\b|\bnext\b(?!\s+to\b)|\blastly\b")
_STATE_NEGATION = re.compile(r"(?:\b(?P<pre>is|are|be|stay|stays|remain|remains|should|must|to)\s+|(?<=\w)'s\s+)"
                             r"(?:not|never)\s+(?=(?:\w+\s+)?(?:open|closed|shut|pressed|in|on|inside|ajar)\b)"
                             r"|\b(?:isn't|aren't|isnt|arent|never)\s+(?=(?:\w+\s+)?(?:open|closed|shut|pressed|in|on"
                             r"|inside|ajar)\b)")
"""A negated state, the negation right after the copula or modal ("make sure the window isn't open", "the drawer
should not be open"; "open the drawer if it's not open" and "open, not closed" negate no request: see
``_negated_state``)."""
_NOT_VERBS = frozenset({"can", "could", "would", "will", "please", "kindly", "now", "just", "i", "you", "we"})
_SUBORDINATE = re.compile(r"\b(?:if|since|because|unless|when|as long as|in case)\b")
_MODIFIED = re.compile(r"\bthe ([a-z]+) ([a-z]+)\b")
_OBJECT_NOUNS = frozenset({"block", "blocks", "cube", "cubes", "brick", "bricks", "box", "piece", "thing", "one",
                           "object", "item", "toy"})
"""Nouns that "the <modifier> <noun>" may use for a scene object ("the crimson cube")."""
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
    """A phrasing of a sub-goal: ``text`` (e.g. ``"put the red block in the bin"``), its goal predicates, the
    scene objects it is about and the scene's own phrasing it rephrases (``source``; ``""``: itself)."""

    text: str
    goal: tuple[tuple[str, bool], ...]
    objects: frozenset[str]
    source: str = ""


def _pronoun_readings(clause: str, antecedents: Sequence[str]) -> list[str]:
    """``clause`` with its first pronoun replaced by each antecedent, most recent first; ``[clause]`` when it has no
    pronoun or there is no antecedent."""
    if not _PRONOUN.search(clause):
        return [clause]
    return [_PRONOUN.sub(a, clause, count=1) for a in reversed(antecedents)] or [clause]


def _drop_negation(m: re.Match[str]) -> str:
    pre = m.group("pre")
    if pre is None:
        return "'s " if m.group(0).startswith("'s") else ""
    return "" if pre in ("is", "are") else f"{pre} "


def _negated_state(clause: str) -> tuple[str, bool]:
    """``clause`` without the negation of its requested state, and whether there was one ("the drawer should not
    be open" → "the drawer should be open", True). A negation inside a subordinate clause ("open the drawer if it's
    not open") or after the state ("make sure the drawer is open, not closed") is not the request's."""
    for m in _STATE_NEGATION.finditer(clause):
        before = clause[:m.start()]
        if _SUBORDINATE.search(before) or re.search(r"\b(?:open|closed|shut|pressed|ajar)\s*$", before):
            continue
        return (clause[:m.start()] + _drop_negation(m) + clause[m.end():]).strip(), True
    return clause, False


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
        implicit_threshold: minimum similarity between an instruction that names no goal and one of the lexicon's
            implicit requests ("it's freezing in here" → close the window) to read it as that request.

    Raises:
        ValueError: the scene has no symbolic domain or no templated language.
        LexiconError: the scene's lexicon file is malformed.
    """

    def __init__(self, scene: Scene, embedder: Embedder | None = None, threshold: float = 0.5,
                 lexical_weight: float = 0.25, lexicon: Lexicon | bool | None = None,
                 implicit_threshold: float = 0.6) -> None:
        self.domain = scene.require_domain("the goal-parsing planner")
        if scene.language is None or not scene.language.parseable:
            raise ValueError(f"scene {scene.name!r} has no templated language for parsing: instructions cannot be "
                             f"parsed")
        self.scene = scene
        self.embed = embedder or Embedder()
        self.threshold, self.lexical_weight = threshold, lexical_weight
        self.implicit_threshold = implicit_threshold
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
                        bank.setdefault(t, SubGoal(t, sub.goal, sub.objects, sub.text))
        implicit: list[SubGoal] = []
        self.inverses: dict[tuple[tuple[str, bool], ...], SubGoal] = {}
        if self.lexicon is not None:
            for g, texts in self.lexicon.goals:
                for pred in g:
                    try:
                        self.domain.holds(self.domain.default_state, pred)
                    except KeyError:
                        raise ValueError(f"lexicon goal {g} names an unknown predicate {pred!r}") from None
                objs = frozenset(m for p in g for m in arg.findall(p))
                for t in texts:
                    bank.setdefault(t, SubGoal(t, tuple(g.items()), objs))

            def grounded(text: str, o: str | None, what: str) -> SubGoal:
                sub = bank.get(text.replace("{object}", o) if o else text)
                if sub is None:
                    raise ValueError(f"lexicon {what} {text!r} is none of the scene's sub-goal phrasings")
                return sub

            for text, more in self.lexicon.implicit.items():
                for o in self.objects if "{object}" in text else [None]:
                    sub = grounded(text, o, "implicit request of")
                    implicit += [SubGoal(m.replace("{object}", o) if o else m, sub.goal, sub.objects) for m in more]
            for text, inverse in self.lexicon.inverses.items():
                for o in self.objects if "{object}" in text else [None]:
                    self.inverses[grounded(text, o, "inverse of").goal] = grounded(inverse, o, "inverse")
        self.bank = list(bank.values())
        self.predicates = sorted({p for sub in self.bank for p, _ in sub.goal})
        """Every grounded predicate some sub-goal names."""
        self.implicit = implicit
        self._implicit_texts = [x.text for x in implicit]
        self.noun = noun
        self._known: frozenset[str] | None = None
        self.vocabulary = sorted({w for t in bank for w in _words(t)} | {w for t in implicit for w in _words(t.text)})
        # containers named in the scene's phrasings ("in the drawer", "in the bin"): what "in there" can refer to
        # the verbs the sub-goal phrasings start with ("put", "close", ...): where a comma-less condition ends
        self._verbs = frozenset(t.split()[0] for t in bank) - _NOT_VERBS - frozenset(_DETERMINERS) - _SUBJECTS
        # the fixtures the predicates without an argument are about ("drawer_open" → "drawer")
        self.fixtures = frozenset(p.split("_")[0] for p in self.predicates if "(" not in p) - {"hand"}
        self.locations = sorted({m.group(1) for t in bank for m in re.finditer(r"\bin the ([a-z]+)", t)}
                                - set(self.objects) - {noun})
        # a destination: "in the bin", "into drawer", "on the table" (what a placed object is put in or on)
        self._destination = re.compile(rf"\b(?:in|into|inside|onto|on|(?<!next )to)\s+(?:the\s+)?"
                                       rf"(?:{'|'.join(self.locations)}|table)\b")

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
        for w, head in _MODIFIED.findall(clause):
            if w in _STOPWORDS or w in self.objects or head not in _OBJECT_NOUNS | {self.noun}:
                continue  # "the buton already" is no object: only a modifier of an object noun names one
            sims = self.embed([f"the {o} {self.noun}" for o in self.objects]) @ self.embed([f"the {w} {self.noun}"])[0]
            k = int(np.argmax(sims))
            if sims[k] > best[0]:
                best = (float(sims[k]), re.sub(rf"\bthe {re.escape(w)}\b", f"the {self.objects[k]}", clause, count=1))
        return best[1]

    def correct_spelling(self, text: str) -> str:
        """``"press the buton"`` → ``"press the button"``: a word of ≥ 4 letters that the embedding model's
        WordPiece tokenizer does not know as a whole word (nor as a prefix — un, re, de, dis, in, im — plus a known
        word) is replaced by the closest word of the scene's phrasings with the same first letter
        (:func:`difflib.get_close_matches`, ratio ≥ 0.85), if any. Without a WordPiece vocabulary (a custom
        embedder, a SentencePiece model) the text is returned unchanged."""
        if self._known is None:
            model = self.embed.model
            if model is None:
                self.embed(["warm-up"])  # loads the bundled model
                model = self.embed.model
            vocab = getattr(getattr(model, "tokenizer", None), "vocab", None)
            # only a WordPiece vocabulary (BERT-style: continuation pieces "##…") lists whole words as keys
            wordpiece = isinstance(vocab, Mapping) and any(str(k).startswith("##") for k in vocab)
            self._known = frozenset(vocab) if wordpiece else frozenset()
        if not self._known:
            return text

        def fix(m: re.Match[str]) -> str:
            w = m.group(0)
            if len(w) < 4 or w in self._known or w in self.vocabulary or any(
                    w.startswith(pre) and (w[len(pre):] in self._known or w[len(pre):] in self.vocabulary)
                    for pre in ("un", "re", "de", "dis", "in", "im")):  # "unhide", "depress": real words
                return w
            close = [v for v in difflib.get_close_matches(w, self.vocabulary, n=3, cutoff=0.85) if v[0] == w[0]]
            return close[0] if close else w

        return re.sub(r"[a-z]+", fix, text)

    def _last_object(self, antecedents: Sequence[str], held: Sequence[str]) -> str | None:
        """The scene object mentioned last (the antecedents' most recent one naming an object), else the single
        held object, else ``None``."""
        for a in reversed(antecedents):
            named = [o for o in self.objects if o in _words(a)]
            if len(named) == 1:
                return named[0]
        return held[0] if len(held) == 1 else None

    def _key_value(self, key: str, rest: str) -> tuple[str, int] | None:
        """``"red block: bin"`` → ``("put the red block in the bin", len(" bin"))``: an object before a colon
        and a bare destination after it (a goal-state listing); ``None`` otherwise. The int is how much of
        ``rest`` the value took."""
        ws = _words(key)
        named = [o for o in self.objects if o in ws]
        m = re.match(r"\s*(?:the\s+)?([a-z]+)\s*(?=[,;.!]|$)", rest)
        if len(named) != 1 or m is None or set(ws) - {"the", named[0], self.noun, *_OBJECT_NOUNS}:
            return None
        where = m.group(1)
        if where == "table":
            return f"put the {named[0]} {self.noun} on the table", m.end()
        if where in self.locations:
            return f"put the {named[0]} {self.noun} in the {where}", m.end()
        return None

    @staticmethod
    def _describes_state(clause: str) -> bool:
        """Whether a clause only describes the state ("the drawer is open", "it's cold in here", "someone left the
        drawer open"), not a request ("the drawer should be open")."""
        ws = _words(clause)
        return bool(ws) and ((ws[0] in _DETERMINERS or ws[0] in _SUBJECTS or _COPULA.match(clause) is not None)
                             and _COPULA.search(clause) is not None and not _MODAL.search(clause)) \
            or _LEFT_STATE.match(clause) is not None \
            or (_COMPLAINT.match(clause) is not None and not _WISH.search(clause)) \
            or _HOLDING_STATE.match(clause) is not None

    def _object_predicates(self, phrase: str) -> list[str]:
        """Grounded predicates about the thing a noun phrase names: ``"the drawer"`` → ``drawer_open``,
        ``drawer_closed``; ``"the red block"`` → the ``(red)`` predicates."""
        ws = set(_words(phrase))
        named = [o for o in self.objects if o in ws]
        if named:
            return [p for p in self.predicates if any(p.endswith(f"({o})") for o in named)]
        return [p for p in self.predicates if "(" not in p and p.split("_")[0] in ws]

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
        text = instruction.lower()
        if self.lexicon is not None:  # shades of the scene's colours, fixture nouns ("navy" → "blue")
            text = self.lexicon.english_synonyms(text)
        text = self.correct_spelling(_COLOURED.sub(r"\1", text))
        for pattern, replacement in _REWRITES:
            text = pattern.sub(replacement, text)
        text = _IF_THEN.sub(lambda m: f"if{m.group('cond')},", text)
        text = re.sub(r"\b(?:them both|both of them|them all|all of them)\b",
                      lambda m: self._both_objects(text, m), text)
        start = dict(state) if state is not None else dict(self.domain.default_state)
        if len(held) == 1:  # "the block, that you are holding," → the held block (before the commas split it)
            text = _HELD_RELATIVE.sub(f"the {held[0]} {self.noun}", text)
        text = _WHICH_ONE.sub(lambda m: self._which_one(m, start), text)
        # (clause, what precedes it: False, "stop" — a sentence break — or "seq" — a sequencing word or step number)
        raw: list[tuple[str, bool | str]] = []
        brk: bool | str = False
        pos, labelled, fresh, after_and = 0, False, False, False
        and_pieces: set[str] = set()  # clauses joined to their predecessor by a plain "and"
        for m in [*_SPLIT.finditer(text), None]:
            piece = text[pos:m.start() if m is not None else len(text)].strip()
            sep = m.group(0).strip() if m is not None else ""
            if (sep == ":" or _ARROW.fullmatch(sep)) and piece:
                label = _HEADING.match(" ".join(_words(piece))) if sep == ":" else None
                if label is not None:  # "Action: ...", "Don't: touch the window"
                    labelled, fresh = label.group("negative") is not None, True
                    pos = m.end()
                    continue
                if (value := self._key_value(piece, text[m.end():])) is not None:  # "red block: bin", "... -> bin"
                    raw.append((value[0], brk))
                    brk, pos = False, m.end() + value[1]
                    continue
            if piece:
                if labelled and brk and not fresh:  # a negative label's section ends with its sentence
                    labelled = False
                raw.append((f"don't {piece}" if labelled else piece, brk))
                if after_and:
                    and_pieces.add(raw[-1][0])
                brk = fresh = False
            after_and = m is not None and m.group(0).strip() == "and"
            if m is not None:
                if _BRANCH_END.match(m.group(0).strip()) is not None:
                    brk = "seq" if brk == "seq" or re.search(r"[a-z0-9]", m.group(0)) else "stop"
                pos = m.end()
        reads: list[dict[str, Any]] = []
        antecedents: list[str] = []  # noun phrases mentioned so far, most recent last
        verb = ""
        goal: dict[str, bool] = {}
        last_action: SubGoal | None = None  # the past action a clause described ("you just opened the drawer")
        stripped: list[tuple[str, str, bool, bool | str]] = []  # (as written, clause, negated, what precedes it)
        for r, brk in raw:
            c, negated = _strip_edges(_INTERJECTION.sub("", " ".join(_words(r))))
            if re.match(r"(?:can't|cannot|can barely|can hardly|could barely|could hardly)\b(?!\s+(?:you|u|we)\b)", c):
                c = f"i {c}"  # "can't breathe": a first-person complaint without its subject
            # a bare fixture noun: "drawer's hanging open", "if drawer closed" → the drawer
            bare = re.match(r"(?:(?:if|in case) )?(?P<noun>[a-z]+)(?=(?:'s| is| isn't| was)\b)|(?:if|in case) "
                            r"(?P<cnoun>[a-z]+)\b", c)
            if bare is not None and bare.lastgroup is not None and bare.group(bare.lastgroup) in self.fixtures:
                c = f"{c[:bare.start(bare.lastgroup)]}the {c[bare.start(bare.lastgroup):]}"
            m = _REMINDER.match(c)
            if m is not None:  # "don't forget to close it" asks to close it
                c, negated = c[m.end():], negated and not c.startswith("forget")
            cut = self._split_condition(c) if _CONDITION.match(c) else None
            if cut is not None:  # "if the window is open close it": condition, then its request
                stripped += [(cut[0], cut[0], negated, brk), (cut[1], cut[1], False, False)]
            else:
                stripped.append((r, c, negated, brk))
        for k in range(1, len(stripped)):
            # "make sure the red block is in the bin and the blue block is in the drawer": the wish covers both
            orig, c, negated, brk = stripped[k]
            wish = _ENSURE.match(stripped[k - 1][1])
            if (wish is not None and orig in and_pieces and _COPULA.search(c) and self._describes_state(c)
                    and not _ENSURE.match(c)):
                stripped[k] = (orig, f"{wish.group(0)} {c}", negated, brk)
        complaints: list[str] = []  # clauses an implicit request may come from (step 9)
        # a negation blocks implicit requests ("it's not cold in here"), but not one inside a first-person
        # complaint ("i can't breathe in here")
        any_negated = any(n or (_INNER_NEGATION.search(c) is not None and _COMPLAINT.match(c) is None)
                          for _, c, n, _ in stripped)
        branch: bool | None = None  # the last condition's value ("if the drawer is open")
        in_else = False  # whether the clauses are in that condition's "otherwise" branch
        cond_state: dict[str, Any] | None = None  # the state that condition was read in
        cond_about: set[str] = set()  # the fixtures and objects it named
        last_single: tuple[str, str] | None = None  # the last request about one object, as read, and the object
        for k, (orig, c, negated, brk) in enumerate(stripped):
            c = _CONTRACTED_IS.sub(r"\1 is \2", c)  # "the drawer's already open"
            if len(held) == 1:
                c = _HELD.sub(f"the {held[0]} {self.noun}", c)
            # "if it isn't," after a condition is its "otherwise", not a new condition
            other = _ELSE.match(c) if branch is not None and not in_else else None
            cond = _CONDITION.match(c) if other is None else None
            # a condition right after another's branch, about the same thing and with no sequencing word between, is
            # its alternative ("si está entreabierto, ciérralo; si está cerrado, ábrelo"): both are read in the same
            # state; otherwise in the state the requests so far lead to ("..., then if the drawer is open, ...")
            if cond is not None:
                about = set(_words(c)) & (self.fixtures | set(self.objects))
                chained = (branch is not None and cond_state is not None and brk != "seq"
                           and (bool(about & cond_about) or _PRONOUN.search(c) is not None))
                here = cond_state if chained and cond_state is not None else self._state_after(start, goal)
                if _HOLD_CONDITION.match(cond.group("cond")):  # on the hand: "it" is the held object
                    inhand = [o for o in self.objects if here.get(o) == "hand"]
                    value: bool | None = bool(inhand)
                    named = [f"the {o} {self.noun}" for o in inhand[:1]]
                else:
                    # "s'il est ouvert, ferme le tiroir": with nothing mentioned before, "it" is what the request names
                    ants = antecedents or (_noun_phrases(stripped[k + 1][1]) if k + 1 < len(stripped) else [])
                    value = self._condition(cond.group("cond"), here, held, ants)
                    named = _noun_phrases(c)  # "if the drawer is open, close it": the drawer
                if value is not None:
                    reads.append({"clause": orig, "read": f"condition: {'holds' if value else 'does not hold'}"})
                    antecedents += named
                    branch, in_else, cond_state, cond_about = value, False, here, about
                    continue
            if branch is not None:
                # a condition's "then" branch runs to its "otherwise" clause, the end of the sentence or a "then";
                # the "otherwise" branch to the end of its sentence or a "then"; later clauses are unconditional
                if other is not None:
                    in_else, c = True, other.group("rest").strip()
                    if not c:  # a bare "otherwise," / "if not,": the branch is the clauses after it
                        reads.append({"clause": orig, "read": "otherwise: the other branch follows"})
                        continue
                elif brk:
                    branch = None
                if branch is not None and branch == in_else:
                    reads.append({"clause": orig, "read": "skipped: the condition selects the other branch"})
                    continue
            if re.search(r"\b(?:pick|lift|take|grab|get|fetch|snatch|nab|seize|grasp|collect|retrieve|scoop)\b", c):
                c = _SOURCE.sub("", c)  # "pick the blue block up off the table": where it is, not where it goes
            if not negated and _MODAL.search(c):
                c, negated = _negated_state(c)  # "make sure the window isn't open"
            ws = _words(c)
            if not ws or not (set(ws) - _STOPWORDS):
                continue
            phrases = _noun_phrases(c)
            keep = (_KEEP_AS_IS.match(c) or (_STAYS.match(c) if not negated else None)
                    or (_DONT_TOUCH.match(c) if negated else None)) if state is not None else None
            np_ = keep.group("np") if keep is not None else ""
            if _PRONOUN.fullmatch(np_) and antecedents:  # "don't touch the blue one, leave it where it is"
                np_ = antecedents[-1]
            if keep is not None and (preds := self._object_predicates(np_)):
                new = {p: bool(self.domain.holds(start, p)) for p in preds}
                reads.append({"clause": orig, "read": f"keep as it is: {goal_text(new)}"})
                antecedents += phrases
                goal = self._merge(goal, new, state)
                continue
            toggle = _TOGGLE.match(c) if state is not None else None
            if toggle is not None and (preds := [p for p in self._object_predicates(toggle.group("np"))
                                                 if p.endswith(("_open", "_closed"))]):
                # the object's other state: its open/closed predicates not holding now, an "open" one first
                options = sorted((p for p in preds if not self.domain.holds(start, p)),
                                 key=lambda p: (not p.endswith("_open"), p))
                if options:
                    new = {options[0]: True}
                    reads.append({"clause": orig, "read": f"toggle: {goal_text(new)}"})
                    antecedents += phrases
                    goal = self._merge(goal, new, state)
                    continue
            if _UNDO_ONLY.match(c) or (last_action is not None and _PUT_BACK.match(c)):
                inverse = self.inverses.get(last_action.goal) if last_action is not None else None
                if inverse is None:
                    reads.append({"clause": orig, "read": "not understood (nothing described to undo)"})
                    continue
                new = dict(inverse.goal)
                reads.append({"clause": orig, "sub_goal": inverse.text, "read": f"undo: {goal_text(new)}"})
                goal = self._merge(goal, new, state)
                continue
            if _WHATEVER.match(c):
                reads.append({"clause": orig, "read": "no request (the start state does not matter)"})
                continue
            fixture = re.fullmatch(r"(?:the )?([a-z]+)", c)
            if (fixture is not None and fixture.group(1) in self.fixtures and not goal
                    and any(self._describes_state(x) for x in complaints)):
                # "im freezing. window.": the complaint says what to do with it
                reads.append({"clause": orig, "read": "topic (the complaint before it implies the request)"})
                antecedents.append(c)
                continue
            if _PLAIN_PLACE.match(c) and not self._destination.search(c) and not _SOURCE.search(c):
                # "open the drawer, put the blue block, close it": the container opened last is the destination
                now = self._state_after(start, goal)
                opened = next((p for p in reversed(antecedents) if p.split()[-1] in self.locations
                               and f"{p.split()[-1]}_open" in self.predicates
                               and self.domain.holds(now, f"{p.split()[-1]}_open")), None)
                if opened is not None:
                    c = f"{c} in {opened}"
            if _PLEA_ONLY.match(c) and complaints and not goal:
                reads.append({"clause": orig, "read": "plea (the complaint before it implies the request)"})
                continue
            pm = _PAST_ACTION.match(c)
            past = pm is not None and not _MODAL.search(c) and (
                pm.group("subject") in ("someone", "somebody", "they") or _PAST_MARKER.search(c) is not None
                or any(_is_undo(r[1]) for r in stripped[k + 1:]))
            if self._describes_state(c) or past:
                read = {"clause": orig, "read": "state description (no goal)"}
                if past:
                    sub, sim = self.match(c, held)
                    if sub is not None and sim >= self.threshold:
                        last_action = sub
                        read["read"] = f"state description: a past action ({sub.text})"
                reads.append(read)
                complaints.append(c)
                antecedents += phrases  # "the blue block is in the drawer, so close it": both can be "it"
                continue
            beside_dropped = _BESIDE.sub("", c)
            if self._destination.search(beside_dropped):  # "... into the drawer next to the blue one"
                c = beside_dropped
            last = self._last_object(antecedents, held)
            if last is not None:
                others = [o for o in self.objects if o != last]
                if len(others) == 1:  # "the other block": the one not mentioned last
                    c = _OTHER.sub(f"the {others[0]} {self.noun}", c)
                if self._destination.search(c):
                    c = _ONE_ANAPHOR.sub(f"the {last} {self.noun}", c, count=1)  # a placed "that one": an object
                ell = _ELLIPTIC_PLACE.match(c)
                if (ell is not None and ell.group("loc") in (*self.locations, "table")
                        and not (set(_words(c)) & set(self.objects)) and not _PRONOUN.search(c)
                        and not _GENERIC_OBJECT.search(c)
                        and (not ell.group("verb") or ell.group("verb").split()[0] in _PLACE_VERBS)):
                    # "pick the red block; place in bin": the destination of the object mentioned last
                    c = f"{ell.group('verb').strip() or 'put'} the {last} {self.noun} {ell.group('where')}"
            place = next((p for p in reversed(antecedents) if p.split()[-1] in self.locations), None)
            if place is not None and _LOCATION_ANAPHOR.search(c):
                c = _LOCATION_ANAPHOR.sub(f"in {place}", c, count=1)  # "put the red block in there"
            if (not verb and any(set(_words(x[1])) - _STOPWORDS for x in stripped[k + 1:])
                    and ws[0] in _DETERMINERS and phrases == [c]
                    and ws[-1] in _OBJECT_NOUNS | {self.noun}):
                antecedents += phrases  # a topic before its request: "the blue block, put it in the bin"
                reads.append({"clause": orig, "read": "topic (antecedent only)"})
                continue
            following = stripped[k + 1][1].split() if k + 1 < len(stripped) else []
            if (ws[0] in self._verbs and set(ws) <= self._verbs | _PARTICLES and following
                    and (following[0] in _DETERMINERS or following[0] in self.objects)):
                verb = c  # "Action: pick up. Object: the blue block.": a verb whose object follows
                reads.append({"clause": orig, "read": "verb (its object follows)"})
                continue
            if ws[0] in ("along", "together") and len(ws) > 2 and ws[1] == "with":
                c, ws = " ".join(ws[2:]), ws[2:]  # "it goes in the drawer, along with the blue one"
            if ws[0] in _DETERMINERS or ws[0] in self.objects:
                named = [o for o in self.objects if o in ws]
                if (len(named) == 1 and last_single is not None and last_single[1] != named[0]
                        and not self._destination.search(c)):
                    # "put the red block in the bin and after that the blue block too": the last request, for it
                    c = re.sub(rf"\b{re.escape(last_single[1])}\b", named[0], last_single[0])
                else:
                    c = f"{verb} {c}".strip()  # "... and the window": the predecessor's verb
            else:
                first = next((i for i, w in enumerate(ws) if w in _DETERMINERS or _PRONOUN.match(w)), len(ws))
                verb = " ".join(ws[:first])
            read: dict[str, Any] = {"clause": orig, "negated": negated}
            options = _pronoun_readings(c, antecedents)
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
                complaints.append(c)
                continue
            new = {p: (not v if negated else v) for p, v in sub.goal}
            if negated and len(sub.goal) != 1:
                read["read"] = "not understood (negated conjunction)"
                reads.append(read)
                continue
            read.update({"sub_goal": sub.text, "read": goal_text(new)})
            reads.append(read)
            named = [o for o in self.objects if o in _words(c)]
            last_single = (c, named[0]) if len(named) == 1 and not negated else None
            # the sub-goal's own nouns are antecedents too ("hide the red block, then shut it": the drawer)
            antecedents += [n for n in _noun_phrases(sub.source or sub.text) if n not in antecedents]
            goal = self._merge(goal, new, state)
        extra = ({"translated": {"language": translation.language, "text": instruction}}
                 if translation is not None and translation.language is not None else {})
        if not goal and self.implicit and complaints and state is not None and not any_negated:
            # no request named a goal: a complaint may imply one, if every clause is one (or a state description,
            # or a plea such as "can you do something about it") — an unread request ("fetch me a coffee") is not
            best_implicit: tuple[SubGoal | None, float, str] = (None, -1.0, "")
            unread = False
            for t in complaints:
                i, sim = nearest_phrasing(self.embed, t, self._implicit_texts, self.lexical_weight)
                if sim > best_implicit[1]:
                    best_implicit = (self.implicit[i], sim, t)
                unread |= sim < self.implicit_threshold and not _PLEA.search(t) and not self._describes_state(t)
            sub, sim, t = best_implicit
            # a request asks for a change: a description of what already holds ("the drawer is closed") is none
            if (sub is not None and sim >= self.implicit_threshold and not unread
                    and not all(self.domain.holds(start, p) == v for p, v in sub.goal)):
                goal = dict(sub.goal)
                reads.append({"clause": t, "as": sub.text, "similarity": round(sim, 3),
                              "read": f"implicit request: {goal_text(goal)}"})
        if not goal:
            return {"goal": None, "status": "rejected: no clause names a sub-goal of this scene", "clauses": reads,
                    **extra}
        if state is not None and shortest_plan(self.domain, state, goal) is None:
            return {"goal": None, "status": f"rejected: the goal {goal_text(goal)} cannot be reached",
                    "clauses": reads, **extra}
        return {"goal": goal, "status": "valid", "clauses": reads, **extra}

    def _both_objects(self, text: str, m: re.Match[str]) -> str:
        """ "bin em both" → "bin both blocks": "them both" / "them all" are the scene's objects, unless a fixture was
        named before in the sentence ("the drawer and the window are closed, open them both") or the verb acts on
        fixtures ("open them both")."""
        before = re.split(r"[.;!?]", text[:m.start()])[-1]
        verb = before.split()[-1] if before.split() else ""
        if set(_words(before)) & self.fixtures or verb in ("open", "close", "shut", "press", "push", "slam"):
            return m.group(0)
        return f"both {self.noun}s"

    def _which_one(self, m: re.Match[str], start: Mapping[str, Any]) -> str:
        """``"whichever block is still on the table"`` → ``"the blue block"`` when exactly one object is there in
        the start state; else the text unchanged. ``_WHERE`` names the tabletop domain's location predicates; in a
        scene without them (``holds`` raises ``KeyError``) the rule does nothing rather than crash."""
        try:
            there = [o for o in self.objects if self.domain.holds(start, _WHERE[m.group("where")].format(o=o))]
        except KeyError:  # a scene whose domain has no such predicate: the text stays as written
            return m.group(0)
        return f"the {there[0]} {self.noun}" if len(there) == 1 else m.group(0)

    def _split_condition(self, clause: str) -> tuple[str, str] | None:
        """``"if the window is open close it"`` → ``("if the window is open", "close it")``: a condition without a
        comma ends at the first verb of a sub-goal phrasing after its copula and state word; ``None`` when there is
        no such verb (the condition is the whole clause)."""
        ws = clause.split()
        copula = next((i for i, w in enumerate(ws) if w in ("is", "are", "isn't", "aren't") or w.endswith("'s")), None)
        if copula is None:
            return None
        i = copula + 1
        while i < len(ws) and ws[i] in ("not", "never", "still", "already", "really", "fully", "completely", "all",
                                         "the", "way", "wide", "half", "totally", "quite"):
            i += 1
        # the verb needs an object after it ("... close it"): a last word is the state ("isn't fully shut")
        cut = next((j for j in range(i + 1, len(ws) - 1) if ws[j] in self._verbs), None)
        return None if cut is None else (" ".join(ws[:cut]), " ".join(ws[cut:]))

    def _state_after(self, start: Mapping[str, Any], goal: Mapping[str, bool]) -> dict[str, Any]:
        """The discrete state in which the goal read so far holds (the shortest plan's end state), ``start`` when
        the goal is empty or unreachable: a condition after a request is read there ("open the drawer, and if it is
        open, ...")."""
        plan = shortest_plan(self.domain, start, goal) if goal else None
        return apply_plan(self.domain, start, plan or [])

    def _condition(self, cond: str, start: Mapping[str, Any], held: Sequence[str],
                   antecedents: Sequence[str] = ()) -> bool | None:
        """Whether the condition of "if <cond>, ..." holds in ``start``: the condition is matched to a sub-goal
        phrasing like a request ("the drawer is open" → ``drawer_open``; "the window isn't closed" → not
        ``window_closed``; "it is open" with each earlier noun phrase for "it"); ``None`` when it matches none (the
        conditional is then read as plain clauses)."""
        cond, negated = _negated_state(cond)
        if _AJAR.search(cond):  # "if the drawer is ajar": neither open nor closed, a state no predicate names
            for reading in _pronoun_readings(cond, antecedents):
                named = [f for f in self.fixtures if f in _words(reading) and isinstance(start.get(f), str)]
                if len(named) == 1:
                    return (start[named[0]] == "ajar") != negated
        sub, sim = max((self.match(o, held) for o in _pronoun_readings(cond, antecedents)), key=lambda r: r[1])
        if sub is None or sim < self.threshold:
            return None
        value = all(bool(self.domain.holds(start, p)) == v for p, v in sub.goal)
        return value != negated

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
