"""The rules of the narrative cleaner: what reveals immigration status, nationality or an
immigration-related vulnerability, compiled once at import into one trie-shaped regular
expression over lower-cased text, and `matches`, which runs them.

`narrative.py` splits text into sentences and removes those these rules match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from importlib import resources

from safereport.redact.context import interpreter_for_sign_language, origin_word_stands, workplace_before
from safereport.redact.findings import IMMIGRATION_PRIORITY
from safereport.redact.placeholders import IMMIGRATION_PLACEHOLDER

# --- Reasons -----------------------------------------------------------------------------------
# From most to least specific: a sentence that several rules match is tagged with the first.

_THREAT = "threat_to_report"
_DOCUMENTS = "document_control"
_FUNDS = "public_funds"
_STATUS = "immigration_status"
_NATIONALITY = "nationality"
_REASONS = IMMIGRATION_PRIORITY
PRIORITY = {reason: rank for rank, reason in enumerate(_REASONS)}

# Rules whose matches get a further check in `_matches`: a demonym must not be followed by a
# false friend ("Chinese takeaway"), and a few words count only when capitalised as a name is
# ("Polish", not "polish"; "Turkey", not "turkey"; "HO" for the Home Office, not "ho").
_NATIONALITY_WORD = "nationality, unless a false friend follows"
_CAPITALISED_COUNTRY = "nationality, if capitalised"
_UPPER_CASE_STATUS = "immigration status, if in upper case"
_UPPER_CASE_NATIONALITY = "nationality, if in upper case"
_HOME_OFFICE_WORD = "immigration status, unless the Home Office is a workplace"
_INTERPRETER = "nationality, unless the interpreter is for sign language"


# --- Rules -------------------------------------------------------------------------------------
# Each rule is a reason, the literal words it starts with and a regular expression for what
# follows them. The words are "|"-separated and lower case (the rules run over lower-cased
# text); in them a space stands for any run of white space or hyphens, and an apostrophe for a
# straight or a curly one.
#
# Within a phrase, words are separated by `\s+`, which also matches a line break: a phrase
# that a hard-wrapped narrative breaks over two lines is still found, and both lines go.

_Rule = tuple[str, str, str]


def _gap(n: int) -> str:
    """Up to n intervening words, never across a sentence end."""
    return rf"(?:[\w'\u2019,-]+\s+){{0,{n}}}?"


def _any(*alternatives: str) -> str:
    return "(?:" + "|".join(alternatives) + ")"


_UK = _any(
    r"uk\b",
    r"u\.k\b\.?",
    r"united\s+kingdom",
    r"(?:great\s+)?britain",
    r"england",
    r"scotland",
    r"wales",
    r"northern\s+ireland",
    r"(?:this|the)\s+country\b",
)
_PERSON = (
    "she|he|they|i|we|you|v|ip|pt|victim|patient|witness|suspect|mother|father|family|parents|wife|husband"
)
_OBJECT = r"(?:her|him|them|me|us|you|v|the\s+(?:victim|v|ip|family|kids|children))"
_POSSESSIVE_WORDS = "her|his|their|my|your|our|victim's|victims|v's|ip's|patient's|pt's"
_POSSESSIVE = (
    r"(?:(?:all|both)\s+)?(?:her|his|their|my|your|our|(?:the\s+)?(?:victim|v|ip|patient|pt)['\u2019]?s)"
)
# "Home Office" as a building or as police and forensic jargon says nothing about anyone.
_HOME_OFFICE_NOT_A_PLACE = (
    r"\b(?!\s+(?:buildings?|counting|pathologists?|approved|circulars?|large\s+major|crime\s+(?:codes?"
    r"|classification)|forensic|biology|police\s+national|statutory|guidance|guidelines|ministers?|secretary"
    r"|statistics|research|type\s+approv\w+)\b)"
)
_AUTHORITY = _any(
    r"home\s+office" + _HOME_OFFICE_NOT_A_PLACE,
    r"immigration",
    r"border\s+(?:force|agency|people|police|guards?|control\s+people)",
    r"uk\s?ba\b",
    r"uk\s?vi\b",
)
_DOCUMENT = _any(
    r"passports?",
    r"travel\s+documents?",
    r"(?:identity|id|immigration|residence)\s+(?:documents?|papers|cards?)",
    r"documents",
    r"papers",
    r"id\b",
    r"brps?\b",
    r"(?:biometric\s+)?residence\s+(?:permit|card)s?",
)
# "her passport", "her son's passport", "her own ID"
_DOCUMENT_OF = r"(?:[\w-]+['\u2019]s\s+)?(?:own\s+)?" + _DOCUMENT
# "all ID documents", "all the family's documents", "all of her papers"
_ALL_DOCUMENTS = (
    r"all\s+(?:of\s+)?(?:the\s+|her\s+|his\s+|their\s+)?(?:[\w-]+['\u2019]s\s+)?"
    r"(?:(?:id|identity|immigration|travel)\s+)?(?:documents|papers|documentation)"
)
_CONTROLLED = _any(
    r"taken",
    r"kept",
    r"held",
    r"confiscated",
    r"withheld",
    r"seized",
    r"retained",
    r"hidden",
    r"destroyed",
    r"burn[te]d?",
    r"locked\s+(?:away|up)",
    r"stolen",
    r"controlled",
)
_NOT_ILLEGAL_ITSELF = (
    r"(?!\s+(?:to|for|drugs?|substances?|weapons?|items?|firearms?|guns?|knife|knives|eviction|parking|activit\w+"
    r"|money|moneylend\w*|lending|lenders?|cigarettes|tobacco|goods|acts?|gambling|dumping|sales?|selling|supply"
    r"|imports?|downloads?|streaming|conduct|alcohol|entry\s+(?:to|into)\s+(?:the|a|his|her|their)\s+(?:property"
    r"|house|flat|premises|address|building|home|garden|car|vehicle))\b)"
)

_RULES_SPEC: tuple[_Rule, ...] = (
    # --- Threats to report, to deport, to withdraw sponsorship.
    (
        _THREAT,
        "report|call|ring|rang|rung|phon|tell|told|inform|grass|snitch|shop|dob|contact|hand|turn|word",
        r"\w*\s+" + _gap(5) + _AUTHORITY,
    ),
    (
        _THREAT,
        "threat|warn|blackmail|menac|intimidat|coerc",
        r"\w*\s+"
        + _gap(10)
        + r"[\"'\u201c\u2018]?"
        + _any(
            r"deport\w*",
            _AUTHORITY,
            r"the\s+authorities",
            r"sen[dt]\w*\s+(?:\w+\s+)?back",
            r"sponsor\w*",
            r"visas?\b",
            r"passports?\b",
            r"out\s+of\s+the\s+country",
            r"(?:next|first)\s+(?:plane|flight)",
            r"put\s+\w+\s+on\s+a\s+plane",
        ),
    ),
    (
        _THREAT,
        "send|sends|sent|sending|get|gets|getting|got|have|has|had|having",
        r"\s+" + _OBJECT + r"\s+(?:deported|sent\s+back)",
    ),
    (
        _THREAT,
        "kick|throw|threw|chuck|get|got",
        r"\w*\s+(?:\w+\s+)?out\s+of\s+(?:the|this)\s+country",
    ),
    (_THREAT, "withdraw|withdrew|cancel|revok|pull|stop", r"\w*\s+" + _gap(3) + r"(?:sponsor\w*|visas?\b)"),
    # "he'll send you back to Tirana", "she will be sent back", "police would deport her",
    # "one phone call from him", "make sure the Home Office knows", "the next plane to Karachi"
    (_THREAT, "send|sends|sending|sent", r"\s+" + _OBJECT + r"\s+back\s+(?:to|home|where)\b"),
    (_THREAT, "be|get|gets|getting|being|been|are|is", r"\s+[\"'\u201c\u2018]?(?:sent\s+back|deported)\b"),
    (
        _THREAT,
        "get|gets|getting|got|have|has|had|having",
        r"\s+"
        + _OBJECT
        + r"\s+removed\b(?!\s+from\s+(?:the\s+|a\s+)?(?:property|premises|address|house|flat|home"
        r"|club|pub|bar|shop|store|venue|building|bus|train|scene|car|vehicle|ward|school|class|room|meeting))",
    ),
    (_THREAT, "deport", r"\s+(?:her|him|them|me|you|us|v|the\s+(?:victim|family))\b"),
    (
        _THREAT,
        "will|would|could|might|gonna|going to|'d|'ll",
        r"\s+" + _gap(3) + r"(?:sent\s+back|deported|removed\s+from\s+the\s+country|put\s+on\s+a\s+plane)\b",
    ),
    (_THREAT, "one call|one phone call", r"\s+(?:from\s+(?:him|her|them|me)|and|away)\b"),
    (_THREAT, "make one call|make one phone call|makes one call|makes one phone call", ""),
    (
        _THREAT,
        "make sure|ensure|let",
        r"\s+" + _gap(3) + _any(_AUTHORITY, r"(?:on\s+)?(?:the\s+)?(?:next|first)\s+(?:plane|flight)"),
    ),
    (_THREAT, "put", r"\s+(?:her|him|them|me|you|us)\s+in\s+(?:detention|a\s+detention\s+centre)"),
    (_THREAT, "detained and", r"\s+(?:deported|removed|sent\s+back)"),
    # --- Someone else holding a person's documents.
    (
        _DOCUMENTS,
        "took|tak|kept|keep|held|hold|confiscat|withh|seiz|retain|hid|destroy|burn|tore|torn|ripp|lock|stol|steal"
        "|control",
        r"\w*\s+"
        + _gap(3)
        + _any(_POSSESSIVE + r"\s+" + _DOCUMENT_OF, r"(?:the\s+|a\s+)?passports?\b", _ALL_DOCUMENTS),
    ),
    # "he has my passport", "still has her documents" (but not "had his ID checked")
    (
        _DOCUMENTS,
        "has|had|have|having|got",
        r"\s+"
        + _gap(2)
        + _any(_POSSESSIVE + r"\s+" + _DOCUMENT_OF, _ALL_DOCUMENTS)
        + r"(?!\s+(?:checked|renewed|stamped|photographed|scanned|copied|ready|on\s+(?:her|him|them)))",
    ),
    (
        _DOCUMENTS,
        "doesn't|does not|don't|do not|didn't|did not|not|never|no longer",
        r"\s+(?:hold|holds|have|has|had|keep|keeps|kept|got)\s+"
        + _POSSESSIVE
        + r"\s+(?:own\s+)?"
        + _DOCUMENT,
    ),
    # "her passport was taken by the suspect" (but not "documents were seized" by officers)
    (
        _DOCUMENTS,
        "passport|travel document|identity document|id document|immigration document",
        r"s?\s+" + _gap(4) + _CONTROLLED,
    ),
    (
        _DOCUMENTS,
        _POSSESSIVE_WORDS,
        r"\s+(?:(?:identity|id|immigration|residence|travel)\s+(?:cards?|documents?|papers|permits?)|id|documents?"
        r"|papers|passports?|brps?)\s+" + _gap(4) + _CONTROLLED,
    ),
    # --- No recourse to public funds, asylum support, NHS charging.
    (_FUNDS, "nrpf|recourse to public funds|public funds|health surcharge|right to reside", ""),
    (_FUNDS, "destitution domestic violence|aspen card|overseas visitor|overseas patient", ""),
    (_FUNDS, "nass|ddv|ddvc", r"\b"),
    (_FUNDS, "no recourse|ordinarily resident|overseas visitors", r"\b"),
    (_FUNDS, "get|getting|receive|have", r"\s+free\s+(?:nhs\s+|hospital\s+)?(?:care|treatment)\b"),
    (
        _FUNDS,
        "benefit|benefits|money|help|support|housing|it",
        r"\s+" + _gap(2) + r"(?:because\s+of|due\s+to|cos\s+of|owing\s+to)\s+(?:her|his|their|my|your)\s+"
        r"(?:visa\s+conditions?|immigration\s+status|status)\b",
    ),
    (
        _FUNDS,
        "not eligible|ineligible|not entitled",
        r"\s+(?:for|to)\s+(?:free\s+)?(?:nhs|hospital|medical|secondary|maternity)\s+(?:care|treatment)",
    ),
    (_FUNDS, "habitual residen", r"\w*"),
    (_FUNDS, "asylum", r"\s+(?:support|accommodation|accom|housing|funding)"),
    (_FUNDS, "section", r"\s+(?:95|98|4|17)\s+(?:support|accommodation|accom|housing|funding)"),
    (_FUNDS, "s", r"\.?\s?(?:95|98|4|17)\s+(?:support|accommodation|accom|housing|funding)"),
    (
        _FUNDS,
        "charging|chargeable|nhs charging|nhs chargeable",
        r"\s+(?:regulations|status|for\s+(?:nhs\s+)?(?:care|treatment))",
    ),
    (
        _FUNDS,
        "no access to|cannot|can not|can't|unable to|not allowed to|not entitled to|ineligible for"
        "|ineligible to",
        r"\s+(?:(?:claim|get|receive|access)\s+)?(?:any\s+)?(?:benefits|public\s+funds|universal\s+credit"
        r"|housing\s+benefit|child\s+benefit|child\s+tax\s+credit|pension\s+credit|council\s+tax\s+support"
        r"|homelessness\s+(?:help|assistance))",
    ),
    # --- Visas and leave.
    (
        _STATUS,
        "visa|e-visa|evisa",
        r"(?<!paid\sby\svisa)(?<!paid\swith\svisa)(?<!pay\sby\svisa)(?<!pay\swith\svisa)(?<!pays\sby\svisa)"
        r"(?<!pays\swith\svisa)(?<!paying\sby\svisa)(?<!paying\swith\svisa)"
        r"s?\b(?!\s+(?:debit|credit|cards?|electron|contactless|payments?|prepaid|gift|logo|transactions?)\b)",
    ),
    (_STATUS, "leave", r"\s+to\s+(?:remain|enter|stay)\b"),
    (_STATUS, "permission", r"\s+to\s+remain\b"),
    (
        _STATUS,
        "indefinite leave|limited leave|discretionary leave|further leave|humanitarian leave|3c leave"
        "|leave outside the rules|leave outside the immigration rules|humanitarian protection|right of abode"
        "|permanent residen|indefinite residen|work permit|family permit|skilled worker|seasonal worker",
        r"\w*",
    ),
    (_STATUS, "ilr|flr", r"\b"),
    (
        _STATUS,
        "no leave|no valid leave|no current leave|no lawful leave",
        r"\b(?!\s+(?:from|entitlement|allowance|days?|owing|booked|left|for\s+(?:holidays?|the|a)|at\s+work"
        r"|to\s+(?:attend|go|see|visit|take))\b)",
    ),
    (
        _STATUS,
        _POSSESSIVE_WORDS,
        r"\s+leave\s+(?:expired|expires|ran\s+out|runs\s+out|has\s+expired|was\s+curtailed|ends)",
    ),
    (_STATUS, "right", r"[\s-]+to[\s-]+(?:work|rent|remain\b(?!\s+silent)|reside|abode)\b"),
    (_STATUS, "right to", r"\s+(?:be|stay|live)\s+(?:here|in\s+(?:the\s+)?(?:uk|country))\b"),
    # --- Overstaying, asylum, refugees, deportation, removal, detention.
    (_STATUS, "over", r"[\s-]?stay\w*"),
    (_STATUS, "asylum|refugee|undocumented|windrush|calais|small boat|appeal rights exhausted", ""),
    (_STATUS, "deport", r"(?:ed|ing|ation|ations|ee|ees|s|able)?\b"),
    (_STATUS, "remov", r"(?:al|ed|e|es|ing)\s+(?:from|out\s+of)\s+(?:the\s+)?" + _UK),
    (
        _STATUS,
        "removal",
        r"\s+(?:centres?|centers?|directions?|notices?|orders?|window|decision|flights?)\b",
    ),
    (_STATUS, "detention centre|detention center", ""),
    (
        _STATUS,
        "yarl's wood|yarls wood|harmondsworth|colnbrook|brook house|tinsley house|dungavel"
        "|morton hall|derwentside|campsfield|napier barracks|bibby stockholm|wethersfield",
        "",
    ),
    (_STATUS, "contingency|dispersal|dispersed", r"\s+(?:hotel|accommodation)"),
    (_STATUS, "crossed|crossing|cross", r"\s+the\s+(?:english\s+)?channel"),
    (_STATUS, "people smuggl|human smuggl", ""),
    (
        _STATUS,
        "fled",
        r"\s+(?:\w+\s+){0,2}?(?:war|persecution|conflict|(?:her|his|their)\s+(?:home\s+)?country|the\s+taliban"
        r"|regime)",
    ),
    # --- Being "illegal", undocumented, without status.
    (
        _STATUS,
        "illegal",
        r"(?:ly)?\s+(?:immigra\w*|migrants?|aliens?|entrants?|entry\s+(?:to|into)\s+(?:the\s+)?"
        + _UK
        + r"|workers?|working|overstayers?|status|residents?|residence)",
    ),
    (_STATUS, "illegals", r"\b"),
    (
        _STATUS,
        _PERSON,
        r"(?:['\u2019][sm]|\s+(?:is|are|am|was|were|being|been))?\s+[\"'\u201c\u2018]?(?:an?\s+)?illegal\b"
        + _NOT_ILLEGAL_ITSELF,
    ),
    (_STATUS, "here|in", r"\s+(?:the\s+)?(?:" + _UK + r"\s+)?(?:illegally|unlawfully)"),
    (
        _STATUS,
        "illegally|unlawfully",
        r"\s+(?:in|into|entered|arrived|came|resident|present|working|staying|living|here)\b",
    ),
    (
        _STATUS,
        "enter|came|arriv|brought|smuggled|trafficked|work|liv|stay|remain|resid",
        r"\w*\s+" + _gap(3) + r"(?:illegally|unlawfully)",
    ),
    (
        _STATUS,
        "no|without|lack|lacks|lacking|lost",
        r"\s+(?:any\s+)?(?:legal\s+)?(?:papers|status|documents|documentation)\b"
        r"(?!\s+(?:updates?|reports?|changes?|checks?|meetings?|for\s+the\s+(?:court|hearing|meeting)))",
    ),
    (
        _STATUS,
        "insecure|irregular|precarious|uncertain|unresolved|temporary|unlawful|illegal|legal|residency|residence"
        "|settled|migrant|visa",
        r"\s+status",
    ),
    (
        _STATUS,
        "unlawful",
        r"(?:ly)?\s+(?:stay\w*|presen\w+|resident|remain\w*|in\s+(?:the\s+)?" + _UK + ")",
    ),
    # --- Immigration, the Home Office and its agencies, status documents.
    (_STATUS, "immigra|emigra|biometric residen|eu settlement|pre settled|pre-settled|presettled", ""),
    (_STATUS, "migrant|migration|euss|brp", r"s?\b"),
    (_HOME_OFFICE_WORD, "home office", _HOME_OFFICE_NOT_A_PLACE),
    (_STATUS, "uk", r"\s?(?:vi|ba)\b"),
    (_STATUS, "border force|border agency|share code|arc card|application registration card", ""),
    (_STATUS, "residence", r"\s+(?:permits?|cards?|documents?)"),
    (_STATUS, "settled", r"\s+status"),
    (_STATUS, "settlement", r"\s+(?:scheme|status|application|visa|route)"),
    (_STATUS, "sponsorship|certificate of sponsorship", ""),
    (_STATUS, _POSSESSIVE_WORDS + "|visa|work|employer|employer's|employers|licensed", r"\s+sponsors?\b"),
    (
        _STATUS,
        "sponsor",
        r"(?:ed|ing|s)?\s+(?:(?:her|his|their|him|them|me)\s+)?(?:visas?|licen[cs]es?|workers?|applications?"
        r"|status|to\s+(?:come|stay|remain|work))",
    ),
    (_STATUS, "sponsored by", r"\s+(?:her|his|their)\s+(?:employer|husband|wife|partner|spouse|fianc\w*)"),
    # A passport alone says nothing (a British citizen has one too); a false or foreign one does.
    (
        _STATUS,
        "false|fake|forged|fraudulent|counterfeit|foreign|overseas",
        r"\s+(?:passports?|visas?|papers)\b",
    ),
    (_STATUS, "passport", r"s?\s+(?:was|were|is|has\s+been)\s+(?:stamped|endorsed)\b"),
    # "her status" unqualified is immigration status ("relationship status" is not unqualified).
    (
        _STATUS,
        _POSSESSIVE_WORDS + "|proof of|no proof of",
        r"\s+status\b(?!\s+(?:on|as|update|updates)\b)",
    ),
    (
        _STATUS,
        "don't|doesn't|do not|does not|didn't|did not|never|not",
        r"\s+(?:have|has|had|got)\s+(?:any\s+)?(?:legal\s+)?(?:papers|status|documents|documentation|visa|leave)\b",
    ),
    (_STATUS, "brought|bring|smuggled|trafficked", r"\s+(?:her|him|them|me|us)\s+(?:here|over|into)\b"),
    (_STATUS, "settled", r"\s+(?:here|in\s+(?:the\s+)?(?:uk|country))\b"),
    (_STATUS, "trafficked|smuggled", r"\s+(?:here|over|in)\b"),
    (
        _STATUS,
        "in|to",
        r"\s+(?:the\s+)?(?:uk|u\.k\.?|britain|england|this\s+country)\s+(?:since|for\s+\d)",
    ),
    (
        _STATUS,
        "here",
        r"\s+(?:since\s+(?:childhood|birth|(?:i|she|he|they|we)\s+(?:was|were)\s+(?:a\s+)?(?:child|kid|baby|little"
        r"|young|teenager|\d+|\w+teen|ten|eleven|twelve|nine|eight|seven|six|five|four|three|two))"
        r"|as\s+a\s+(?:child|kid|baby|boy|girl|teenager|student|refugee)|\d+\+?\s*(?:yrs|years))",
    ),
    (_STATUS, _POSSESSIVE_WORDS, r"\s+papers\b(?!\s+for\s+(?:the\s+)?(?:court|exam|hearing|meeting))"),
    (_STATUS, "homes for ukraine|ukraine family scheme|ukraine sponsorship scheme", ""),
    (_STATUS, "arrived unaccompanied|unaccompanied asylum|unaccompanied minor|unaccompanied migrant", ""),
    (_STATUS, "uasc|biometrics appointment|biometric appointment", r"\b"),
    # --- Arriving in the UK.
    (
        _STATUS,
        "came|come|comes|coming|arriv|moved|moving|brought|trafficked|smuggled|travel|flew|fled|relocated|migrated",
        r"\w*\s+" + _gap(3) + r"(?:to|into|in|from)\s+(?:the\s+)?(?:" + _UK + r"|abroad|overseas)",
    ),
    (_STATUS, "entered", r"\s+(?:the\s+)?" + _UK),
    (_STATUS, "from", r"\s+(?:abroad|overseas)"),
    (_STATUS, "live|lives|lived|living|family|relatives|parents", r"\s+(?:\w+\s+)?(?:abroad|overseas)"),
)

# Nationality: demonyms, languages that point to a country, countries and cities abroad, each a
# word list in data/.


def _data_words(name: str) -> str:
    text = resources.files("safereport.redact").joinpath("data", name).read_text("utf-8")
    return " ".join(line for line in text.splitlines() if not line.startswith("#"))


_DEMONYMS = _data_words("demonyms.txt")
_LANGUAGES = _data_words("languages.txt")
_COUNTRIES = _data_words("countries.txt")
_CITIES = _data_words("cities.txt")


def _word_list(*blocks: str) -> str:
    return "|".join(sorted({w.replace("-", " ") for block in blocks for w in block.split()}))


_NATIONALITY_SPEC: tuple[_Rule, ...] = (
    (_NATIONALITY_WORD, _word_list(_DEMONYMS, _LANGUAGES), r"s?\b"),
    (_NATIONALITY_WORD, _word_list(_COUNTRIES, _CITIES), r"\b"),
    (_NATIONALITY, "ireland", r"\b(?<!northern\sireland)"),
    (
        _NATIONALITY,
        "polish",
        r"\s+(?:nationals?|citizens?|wom[ae]n|m[ae]n|males?|females?|girls?|boys?|people|community|family"
        r"|passport|interpreter|language|speaker|origin|descent)",
    ),
    (
        _NATIONALITY,
        "nationality|nationalities|citizenship|naturalis|naturaliz|mother tongue|language line",
        "",
    ),
    (_NATIONALITY, "languageline|foreigner", ""),
    (_NATIONALITY, "national|citizen|native", r"s?\s+of\b"),
    (
        _NATIONALITY,
        "foreign|eu|eea|third country|third-country|dual|uk|commonwealth",
        r"\s+(?:nationals?|citizens?|passports?)",
    ),
    (_NATIONALITY, "non", r"[\s-]?(?:uk|eu|eea|british)\b"),
    (_NATIONALITY, "eu|eea", r"\b"),
    (_NATIONALITY, "home|native|own|birth|origin", r"\s+country"),
    (_NATIONALITY, "country of", r"\s+(?:origin|birth|nationality|citizenship|residence)"),
    (_NATIONALITY, "back home", r"\s+(?:in|to)\b"),
    (_NATIONALITY, "originally", r"\s+(?:from|comes?|came)"),
    # Being from the UK is treated like being from anywhere else.
    (
        _NATIONALITY,
        "from",
        r"\s+(?:the\s+)?(?:uk\b|u\.k\b\.?|united\s+kingdom|(?:great\s+)?britain|england|scotland|wales"
        r"|northern\s+ireland)",
    ),
    (
        _NATIONALITY,
        "born|grew up|raised",
        r"\s+in\s+(?!\d)(?!(?:the\s+|a\s+)?(?:hospital|care|prison|wedlock)\b)",
    ),
    (
        _NATIONALITY,
        _PERSON,
        r"(?:['\u2019][sm]|\s+(?:is|are|am|was|were|comes?|came|hails?))\s+(?:originally\s+)?from\s+"
        r"(?!(?:the|a|an|her|his|their|my|your|our|this|that|work|school|home|college|uni|university|hospital"
        r"|prison|there|here|behind|inside|outside|upstairs|downstairs)\b)(?!\d)",
    ),
    (_INTERPRETER, "interpreter", r"s?\b"),
    (_NATIONALITY, "first language|native language|main language|home language", ""),
    (
        _CAPITALISED_COUNTRY,
        "polish",
        r"\b(?<!nail\spolish)(?<!shoe\spolish)(?<!floor\spolish)"
        r"(?!\s+(?:remover|the|his|her|their|my|your|it|off|up)\b)",
    ),
    (_CAPITALISED_COUNTRY, "turkey|china|chile|panama|niger|roma", r"\b"),
    (_CAPITALISED_COUNTRY, "guinea", r"\b(?!\s+(?:pigs?|fowl)\b)"),
    (_UPPER_CASE_STATUS, "ho", r"\b(?<!/ho)"),
    (_UPPER_CASE_STATUS, "irc", r"\b"),
    (_UPPER_CASE_NATIONALITY, "eal", r"\b"),
    (_NATIONALITY, "esol|english as a second language|english as an additional language", r"\b"),
)


class _Trie:
    __slots__ = ("children", "leaves")

    def __init__(self) -> None:
        self.children: dict[str, _Trie] = {}
        # (priority, rule number, continuation, marker group name)
        self.leaves: list[tuple[int, int, str, str]] = []

    def pattern(self) -> str:
        branches = [
            _LITERAL.get(ch, re.escape(ch)) + child.pattern() for ch, child in sorted(self.children.items())
        ]
        branches.extend(f"{rest}(?P<{marker}>)" for _, _, rest, marker in sorted(self.leaves))
        return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"


_LITERAL = {" ": r"[\s-]+", "'": "['\u2019]"}


def _compile_trie(rules: Iterable[_Rule]) -> tuple[re.Pattern[str], dict[str, str]]:
    """One expression for all the rules: a trie of their leading words, each leaf followed by
    the rules' continuations, each continuation by an empty group whose name says which rule
    matched."""
    root = _Trie()
    markers: dict[str, str] = {}
    for number, (reason, prefixes, rest) in enumerate(rules):
        for prefix in prefixes.split("|"):
            marker = f"r{len(markers)}"
            markers[marker] = reason
            node = root
            for ch in prefix:
                node = node.children.setdefault(ch, _Trie())
            node.leaves.append((PRIORITY.get(reason, len(_REASONS)), number, rest, marker))
    return re.compile(r"\b" + root.pattern()), markers


_RULES, _MARKERS = _compile_trie(_RULES_SPEC + _NATIONALITY_SPEC)


def _lowered(text: str) -> str:
    """A lower-cased copy of `text` with every character where it was."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def matches(text: str) -> Iterator[tuple[int, int, str]]:
    """Every rule match in `text`: (start, end, reason), in order.

    The minimiser's own immigration placeholders ("[removed]", "[nationality]"...) count too:
    each says that something of its kind was there.
    """
    if "[" in text and IMMIGRATION_PLACEHOLDER.search(text):
        found = list(_rule_matches(text))
        for m in IMMIGRATION_PLACEHOLDER.finditer(text):
            tag = m.group()[1:-1].replace(" ", "_")
            found.append((m.start(), m.end(), tag if tag in PRIORITY else _STATUS))
        yield from sorted(found)
    else:
        yield from _rule_matches(text)


def _rule_matches(text: str) -> Iterator[tuple[int, int, str]]:
    low = _lowered(text)
    for m in _RULES.finditer(low):
        marker = m.lastgroup
        assert marker is not None
        reason = _MARKERS[marker]
        if reason == _NATIONALITY_WORD:
            if not origin_word_stands(text, low, m.start(), m.end()):
                continue
            reason = _NATIONALITY
        elif reason == _CAPITALISED_COUNTRY:
            word = m.group()
            original = text[m.start() : m.end()]
            if not (original.isupper() or (original[:1].isupper() and original[1:] == word[1:])):
                continue
            if not origin_word_stands(text, low, m.start(), m.end()):
                continue
            reason = _NATIONALITY
        elif reason in (_UPPER_CASE_STATUS, _UPPER_CASE_NATIONALITY):
            if not text[m.start() : m.end()].isupper():
                continue
            reason = _STATUS if reason == _UPPER_CASE_STATUS else _NATIONALITY
        elif reason == _INTERPRETER:
            if interpreter_for_sign_language(low, m.start()):
                continue
            reason = _NATIONALITY
        elif reason == _HOME_OFFICE_WORD:
            if workplace_before(low, m.start()):
                continue
            reason = _STATUS
        yield m.start(), m.end(), reason
