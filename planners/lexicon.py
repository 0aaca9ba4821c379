"""A scene's multilingual lexicon: instructions in other languages rewritten into the scene's English vocabulary.

The bundled sentence-embedding model (all-MiniLM-L6-v2) is English-only and no multilingual embedding model or
translation model installs offline here, so a German, French or Spanish instruction ("Schublade schließen",
"ferme le tiroir") reaches the goal parser as noise. A scene's vocabulary is small — its objects, their colours,
the verbs of its skills and the function words that order them — so a bilingual lexicon of that vocabulary
covers it: the instruction is normalised, its language is detected from the lexicon's entries, and it is
rewritten word by word (longest phrase first) into English that the parser reads like any other instruction —
word-for-word dictionary translation, the oldest machine-translation approach, adequate for a closed vocabulary
and fully inspectable. Word order is left as it is (the parser matches clauses by embedding and word overlap,
which is insensitive to "the drawer close" vs "close the drawer") except for two rules: per-language
regular-expression rewrites applied before the lookup (German separable verbs: "mach die Schublade auf" →
"open die Schublade"; French "ne … pas"), and, in the parser, a noun-then-colour phrase ("le bloc rouge" →
"the block red") read as colour-then-noun.

File format (``assets/planners/lexicon_<scene>.json``, declared by the scene)::

    {"schema_version": 1,
     "languages": {"de": {"rules": [[pattern, replacement], ...], "words": {"schublade": "drawer", ...}}, ...},
     "phrasings": {"put the {object} block in the bin": ["throw away the {object} block", ...], ...},
     "goals": [{"goal": {"drawer_closed": true, "window_closed": true}, "phrasings": ["close everything"]}, ...],
     "implicit": {"close the window": ["it's cold in here", ...], ...},
     "inverses": {"open the drawer": "close the drawer", ...}}

Keys are normalised like the input (lower case, diacritics removed, ``ß`` → ``ss``), may span several words, and
map to English (possibly several words, possibly empty to drop a word). ``phrasings`` are extra English phrasings of
the scene's sub-goals for the parser's bank (``{object}`` is replaced by each object). The three optional sections
are the scene's English vocabulary for requests that name no single sub-goal:

- ``goals``: sub-goals over several predicates that no skill's effect or templated atom states ("tidy up the
  table", "close everything"), with their phrasings; they join the bank like any other sub-goal.
- ``implicit``: a sub-goal phrasing → state descriptions and complaints that ask for it without an action word
  ("it's freezing in here" → close the window). The parser reads them only when no clause of the instruction names
  a goal (a state description beside a request is context, not a goal: "the drawer is open, so put the block in").
- ``inverses``: a sub-goal phrasing → the sub-goal that undoes it ("undo that" after "you just opened the
  drawer").
- ``synonyms``: English word or phrase → the scene's word, rewritten in the (translated) instruction before parsing:
  shades of a basic colour term ("navy" → "blue", "ruby" → "red") and nouns for the scene's fixtures ("plunger" →
  "button"). The bundled MiniLM embeds a single shade word almost equally near "red" and "blue" ("the ruby block":
  cosine 0.60 to "the red block", 0.57 to "the blue block"; "navy" and "scarlet" lean the wrong way), so the
  basic-colour category of a shade (Berlin & Kay 1969) has to be listed.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

_TOKEN = re.compile(r"[a-z0-9]+'?|[^\sa-z0-9]")
_ELISION = re.compile(r"\b([cdjlmnst]|qu)'(?=[a-z])")  # French l'armoire, d'abord, qu'il → separate tokens


_ENGLISH_COMMON = frozenset({"a", "an", "the", "in", "on", "to", "of", "it", "is", "are", "and", "then", "no", "not",
                             "so", "up", "e", "me", "we", "he"})
"""English function words never counted as evidence of another language (Spanish/French "a", German "in")."""


class LexiconError(ValueError):
    """A malformed lexicon file (the message names the file and the entry)."""


def normalise(text: str) -> str:
    """Lower case, diacritics removed, ``ß`` → ``ss``, typographic apostrophes → ``'``, French elisions split
    (``"l'armoire"`` → ``"l' armoire"``): the form lexicon keys and input are compared in."""
    t = text.lower().replace("ß", "ss").replace("\u2019", "'").replace("\u2018", "'")
    t = "".join(ch for ch in unicodedata.normalize("NFKD", t) if not unicodedata.combining(ch))
    return _ELISION.sub(r"\1' ", t)


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


@dataclass(frozen=True)
class Language:
    """One language of a lexicon: regular-expression ``rules`` applied in order, then the word/phrase table."""

    code: str
    rules: tuple[tuple[re.Pattern[str], str], ...]
    words: Mapping[tuple[str, ...], str]
    longest: int


@dataclass(frozen=True)
class Translation:
    """Result of :meth:`Lexicon.translate`: the English ``text``, the detected ``language`` (``None``: left as it
    was) and the number of tokens the lexicon matched (``hits``)."""

    text: str
    language: str | None
    hits: int = 0


@dataclass(frozen=True)
class Lexicon:
    """A scene's multilingual lexicon (module docstring).

    Args:
        languages: language code → :class:`Language`.
        phrasings: English sub-goal phrasing (as the scene writes it, ``{object}`` for an object) → more phrasings.
        english: words that also are English (never counted as evidence of another language), e.g. ``in``.
        min_hits: tokens another language's lexicon must match before the instruction is read as that language.
        goals: ``(goal, phrasings)`` pairs: sub-goals over several predicates (module docstring).
        implicit: sub-goal phrasing → requests without an action word.
        inverses: sub-goal phrasing → the phrasing of the sub-goal that undoes it.
        synonyms: English word or phrase → the scene's word (:meth:`english_synonyms`).
    """

    languages: Mapping[str, Language]
    phrasings: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    english: frozenset[str] = frozenset()
    min_hits: int = 2
    goals: tuple[tuple[Mapping[str, bool], tuple[str, ...]], ...] = ()
    implicit: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    inverses: Mapping[str, str] = field(default_factory=dict)
    synonyms: Mapping[str, str] = field(default_factory=dict)
    _synonym_pattern: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def load(cls, path: str | Path, english: Sequence[str] = ()) -> Lexicon:
        """Read and validate a lexicon file (format in the module docstring).

        Args:
            path: the JSON file.
            english: English words of the scene (e.g. its templated phrasings' words); a lexicon key equal to one
                of them is not evidence of another language ("in", "die" is, "table" is not).

        Raises:
            LexiconError: missing file, invalid JSON, wrong schema, an invalid regular expression or a non-string
                entry (the message names the file and the entry).
        """
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise LexiconError(f"{path}: no such file") from None
        except json.JSONDecodeError as e:
            raise LexiconError(f"{path}: not valid JSON ({e})") from None
        if not isinstance(data, dict) or data.get("schema_version") != 1 or not isinstance(data.get("languages"),
                                                                                             dict):
            raise LexiconError(f"{path}: expected a JSON object with schema_version 1 and a 'languages' object")
        languages: dict[str, Language] = {}
        for code, spec in data["languages"].items():
            if not isinstance(spec, dict) or not isinstance(spec.get("words", {}), dict):
                raise LexiconError(f"{path}: language {code!r} must be an object with 'words' (and 'rules')")
            rules = []
            for i, rule in enumerate(spec.get("rules", [])):
                if not (isinstance(rule, list) and len(rule) == 2 and all(isinstance(x, str) for x in rule)):
                    raise LexiconError(f"{path}: {code} rule {i} must be [pattern, replacement]")
                try:
                    rules.append((re.compile(rule[0]), rule[1]))
                except re.error as e:
                    raise LexiconError(f"{path}: {code} rule {i} {rule[0]!r} is not a valid pattern ({e})") from None
            words: dict[tuple[str, ...], str] = {}
            for key, value in spec.get("words", {}).items():
                if not isinstance(key, str) or not isinstance(value, str) or not _tokens(normalise(key)):
                    raise LexiconError(f"{path}: {code} entry {key!r}: {value!r} must map a word to a string")
                words[tuple(_tokens(normalise(key)))] = value
            languages[code] = Language(code, tuple(rules), words, max((len(k) for k in words), default=1))
        phrasings = {}
        for k, v in data.get("phrasings", {}).items():
            if not (isinstance(v, list) and all(isinstance(x, str) for x in v)):
                raise LexiconError(f"{path}: phrasings of {k!r} must be a list of strings")
            phrasings[k.lower()] = tuple(x.lower() for x in v)
        goals = []
        for i, g in enumerate(data.get("goals", [])):
            if not (isinstance(g, dict) and isinstance(g.get("goal"), dict) and g["goal"]
                    and all(isinstance(k, str) and isinstance(v, bool) for k, v in g["goal"].items())
                    and isinstance(g.get("phrasings"), list) and g["phrasings"]
                    and all(isinstance(x, str) for x in g["phrasings"])):
                raise LexiconError(f"{path}: goals[{i}] must be {{'goal': {{predicate: bool}}, 'phrasings': [text]}}")
            goals.append((dict(g["goal"]), tuple(x.lower() for x in g["phrasings"])))
        implicit = {}
        for k, v in data.get("implicit", {}).items():
            if not (isinstance(v, list) and all(isinstance(x, str) for x in v)):
                raise LexiconError(f"{path}: implicit requests of {k!r} must be a list of strings")
            implicit[k.lower()] = tuple(x.lower() for x in v)
        inverses = {}
        for k, v in data.get("inverses", {}).items():
            if not isinstance(v, str):
                raise LexiconError(f"{path}: the inverse of {k!r} must be a sub-goal phrasing (a string)")
            inverses[k.lower()] = v.lower()
        synonyms = {}
        if not isinstance(data.get("synonyms", {}), dict):
            raise LexiconError(f"{path}: 'synonyms' must be an object (English word → the scene's word)")
        for k, v in data.get("synonyms", {}).items():
            if not (isinstance(v, str) and v.strip() and _tokens(normalise(k))):
                raise LexiconError(f"{path}: the synonym of {k!r} must be a non-empty string")
            synonyms[" ".join(_tokens(normalise(k)))] = v.lower()
        return cls(languages, phrasings,
                   _ENGLISH_COMMON | frozenset(w for e in english for w in _tokens(normalise(e))),
                   goals=tuple(goals), implicit=implicit, inverses=inverses, synonyms=synonyms)

    def english_synonyms(self, text: str) -> str:
        """``text`` (English, lower case) with every :attr:`synonyms` key, a whole word or phrase, replaced by its
        scene word, longest key first: ``"stow the navy cube"`` → ``"stow the blue cube"``. A hyphen inside a key's
        match counts as a space ("sky-blue")."""
        if self._synonym_pattern is None:
            return text
        return self._synonym_pattern.sub(lambda m: self.synonyms[" ".join(re.split(r"[\s-]+", m.group(0)))], text)

    def __post_init__(self) -> None:
        # one alternation of every synonym key, longest first, compiled once (parse() calls english_synonyms)
        keys = sorted(self.synonyms, key=len, reverse=True)
        pattern = re.compile(r"\b(?:" + "|".join(re.escape(k).replace(r"\ ", r"[\s-]+") for k in keys) + r")\b") \
            if keys else None
        object.__setattr__(self, "_synonym_pattern", pattern)

    def _lookup(self, lang: Language, tokens: Sequence[str]) -> tuple[list[str], int]:
        out: list[str] = []
        hits, i = 0, 0
        while i < len(tokens):
            for n in range(min(lang.longest, len(tokens) - i), 0, -1):
                key = tuple(tokens[i:i + n])
                if key in lang.words:
                    if lang.words[key]:
                        out.append(lang.words[key])
                    if not (n == 1 and key[0] in self.english):
                        hits += n
                    i += n
                    break
            else:
                out.append(tokens[i])
                i += 1
        return out, hits

    def translate(self, instruction: str) -> Translation:
        """``instruction`` in English when another language's lexicon matches at least :attr:`min_hits` of its
        tokens (the language matching most wins), else unchanged.

        Returns:
            :class:`Translation`; its ``text`` is lower case and normalised when translated.
        """
        norm = normalise(instruction)
        best: Translation = Translation(instruction, None, 0)
        for lang in self.languages.values():
            text = norm
            for pattern, repl in lang.rules:
                text = pattern.sub(repl, text)
            out, hits = self._lookup(lang, _tokens(text))
            if hits >= self.min_hits and hits > best.hits:
                best = Translation(" ".join(out), lang.code, hits)
        return best
