"""Context that decides whether a rule's match says anything about a person.

A demonym, language, country or city says where someone is from unless a false friend follows
it ("Chinese takeaway", "Jamaica Road", "Spanish lessons") or travel, sport or a hobby comes
before it ("holiday in Turkey", "England v France", "learning Spanish"). "Interpreter" is about
language unless it is for sign language; the Home Office is the immigration authority unless it
is somebody's workplace. Each check reads a few words either side of the match.
"""

from __future__ import annotations

import re

__all__ = ["interpreter_for_sign_language", "origin_word_stands", "workplace_before"]

# After a demonym or a country, these make it the name of a thing or a place ("Chinese
# takeaway", "German Shepherd", "Jamaica Road") rather than a description of a person.
_FALSE_FRIEND = re.compile(
    r"(?:\s+(?:and|or|&)\s+[\w-]+)?[\s-]+(?:lessons?|class(?:es)?|courses?|gcses?|exams?|homework|teachers?|novels?"
    r"|literature|poetry|films?|music|songs?|medicine|herbs?|herbal|remed(?:y|ies)|medium|cakes?|wolfhound|nuts"
    r"|shops?|supermarkets?|deli|store|market|foreign\s+legion|measles|caps?|match(?:es)?|team|squad|flag"
    r"|grand\s+prix|league|takeaways?|restaurants?|food|cuisine|meals?|dish|curry|wax|waxing|delight|rolls?|pastry|pastries|fries"
    r"|toast|windows?|doors?|polish|horn|kiss|bread|sticks?|cheese|army|shepherds?|knotweed|eggs?|stew|coffee"
    r"|tea|breakfast|wave|courage|lanterns?|whispers|bath|roulette|omelett?e|rarebit|waffles?|chocolates?"
    r"|yogh?urt|salad|massage|summer|numerals|football|hounds?|rugs?|carpets?|cotton|cats?|ink|express"
    r"|mastiffs?|terriers?|setters?|bulldogs?|pointers?|sausages?|beer|lager|vodka|whiske?y|wine|gin|rum"
    r"|gas|airways|airlines|transport\s+police|telecom|rail|legion|heart\s+foundation|museum|library"
    r"|standard|sign\s+language|government|water|power|ambulance|heritage|sea|ocean|terraces?|houses?"
    r"|architecture|era|period|style|townhouses?|square|flu|ivy|muffins?|mustard|dressing|onions?|baths|manicure"
    r"|road|street|st|avenue|lane|park|place|way|close|gardens?|estate|wharf|docks?|stadium)\b"
)


# Before a demonym, a language, a country or a city: travel, sport and hobbies, where a country
# or a language says nothing about where anyone is from ("holiday in Turkey", "flew back from
# Dubai", "served in Afghanistan", "learning Spanish"). Not "went back to": that is going home.
_TRAVEL_OR_HOBBY = re.compile(
    r"(?:"
    r"\b(?:holiday|holidays|hols|vacation|trip|trips|break|weekend|honeymoon|cruise|tour|stag|hen|match|game"
    r"|fixture)(?:\s+[\w'-]+){0,2}?\s+(?:in|to|at|around|from|against)"
    r"|\b(?:flew|fly|flies|flying|flight|flights|flown)(?:\s+[\w'-]+){0,2}?\s+(?:to|from|in|into|out\s+of)"
    r"|\b(?:travel\w*|visit\w*|holidayed|toured|served|stationed|deployed|posted|retired)(?:\s+[\w'-]+){0,2}?"
    r"\s+(?:in|to|around|across)"
    r"|\b(?:been|went|go|goes|going|gone)(?:\s+(?!back\b)[\w'-]+){0,2}?\s+to"
    r"|\b(?:visit\w*|toured|touring)|\babroad\s+in|\bvs\.?|\bversus|\bagainst"
    r"|\b(?:learn\w*|study\w*|studies|teach\w*|taught|revis\w*|lessons?\s+in|class(?:es)?\s+in|course\s+in"
    r"|gcse|a[\s-]level|degree\s+in)(?:\s+[\w'-]+)??"
    r")\s+(?:the\s+)?\Z"
)
# "Mrs Moldovan", "Ms English": a surname; "England v France": a match.
_NAME_OR_MATCH_BEFORE = re.compile(r"(?:\b(?:Mr|Mrs|Ms|Miss|Mx|Dr)\.?|(?<![A-Za-z])v\.?)\s+\Z")
# Earlier in the same sentence (no full stop or line break in between).
_SIGN_LANGUAGE_BEFORE = re.compile(r"\b(?:bsl|sign\s+language|signer|deaf|makaton)\b[^.!?\n]*\Z")
# Working at the Home Office, as a civil servant, says nothing about anyone's status.
_WORKPLACE_BEFORE = re.compile(
    r"\b(?:works?|working|worked|employed|employee|job|career|civil\s+servant|admin|manager|officer)"
    r"(?:\s+[\w'-]+){0,3}?\s+(?:at|for|in|with)\s+(?:the\s+)?\Z"
)


def origin_word_stands(text: str, low: str, start: int, end: int) -> bool:
    """Whether a demonym, language, country or city at [start, end) says where someone is from."""
    if _FALSE_FRIEND.match(low, end):
        return False
    if _NAME_OR_MATCH_BEFORE.search(text, max(0, start - 8), start):
        return False
    if low.startswith("english", start):
        return True  # learning English, or needing to, is about where someone is from
    return _TRAVEL_OR_HOBBY.search(low, max(0, start - 60), start) is None


def interpreter_for_sign_language(low: str, start: int) -> bool:
    return _SIGN_LANGUAGE_BEFORE.search(low, max(0, start - 80), start) is not None


def workplace_before(low: str, start: int) -> bool:
    return _WORKPLACE_BEFORE.search(low, max(0, start - 60), start) is not None
