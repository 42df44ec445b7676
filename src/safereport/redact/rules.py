"""The rules of the narrative cleaner: what reveals immigration status, nationality or an
immigration-related vulnerability, compiled once at import into one trie-shaped regular
expression over lower-cased text, and `matches`, which runs them.

`narrative.py` splits text into sentences and removes those these rules match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

# --- Reasons -----------------------------------------------------------------------------------
# From most to least specific: a sentence that several rules match is tagged with the first.

_THREAT = "threat_to_report"
_DOCUMENTS = "document_control"
_FUNDS = "public_funds"
_STATUS = "immigration_status"
_NATIONALITY = "nationality"
_REASONS = (_THREAT, _DOCUMENTS, _FUNDS, _STATUS, _NATIONALITY)
PRIORITY = {reason: rank for rank, reason in enumerate(_REASONS)}


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
    r"|classification)|forensic|biology|police\s+national)\b)"
)
_AUTHORITY = _any(
    r"home\s+office" + _HOME_OFFICE_NOT_A_PLACE,
    r"immigration",
    r"border\s+(?:force|agency)",
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
        "report|call|ring|rang|rung|phon|tell|told|inform|grass|snitch|shop|dob|contact|hand|turn",
        r"\w*\s+" + _gap(5) + _AUTHORITY,
    ),
    (
        _THREAT,
        "threat|warn|blackmail|menac|intimidat|coerc",
        r"\w*\s+"
        + _gap(10)
        + _any(
            r"deport\w*",
            _AUTHORITY,
            r"the\s+authorities",
            r"sen[dt]\w*\s+(?:\w+\s+)?back",
            r"sponsor\w*",
            r"visas?\b",
            r"passports?\b",
            r"out\s+of\s+the\s+country",
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
    # --- Someone else holding a person's documents.
    (
        _DOCUMENTS,
        "took|tak|kept|keep|held|hold|confiscat|withh|seiz|retain|hid|destroy|burn|tore|torn|ripp|lock|stol|steal"
        "|control",
        r"\w*\s+" + _gap(3) + _any(_POSSESSIVE + r"\s+" + _DOCUMENT, r"(?:the\s+|a\s+)?passports?\b"),
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
        r"\s+(?:claim\s+)?(?:any\s+)?(?:benefits|public\s+funds|universal\s+credit|housing\s+benefit)",
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
        r"(?:['\u2019][sm]|\s+(?:is|are|am|was|were|being|been))?\s+(?:an?\s+)?illegal\b"
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
        r"\s+(?:any\s+)?(?:legal\s+)?(?:papers|status)\b(?!\s+(?:updates?|reports?|changes?|checks?|meetings?))",
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
    (_STATUS, "home office", _HOME_OFFICE_NOT_A_PLACE),
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
    # Any passport, except the airport as a place and the size of photograph.
    (_STATUS, "passport", r"s?\b(?!\s+(?:control|photo\w*|sized?|style)\b)(?!-sized?\b)"),
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

# Nationality: demonyms, languages that point to a country, countries and origin phrases.
_DEMONYMS = """
afghan albanian algerian american andorran angolan antiguan argentine argentinian armenian australian
austrian azerbaijani azeri bahamian bahraini bangladeshi barbadian bajan belarusian belarussian belgian
belizean beninese bhutanese bolivian bosnian botswanan brazilian british bruneian bulgarian burkinabe
burmese burundian cambodian cameroonian canadian chadian chilean chinese colombian comoran comorian
congolese croatian croat cuban cypriot czech danish djiboutian dominican dutch ecuadorian egyptian
emirati english eritrean estonian ethiopian fijian filipino filipina finnish french gabonese gambian
georgian german ghanaian greek grenadian guatemalan guinean guyanese haitian honduran hungarian icelandic
indian indonesian iranian persian iraqi irish israeli italian ivorian jamaican japanese jordanian kazakh
kazakhstani kenyan kosovan kosovar kuwaiti kyrgyz lao laotian latvian lebanese liberian libyan
lithuanian luxembourgish macedonian malagasy malawian malaysian maldivian malian maltese mauritanian
mauritian mexican moldovan monegasque mongolian montenegrin moroccan mozambican namibian nepalese nepali
nicaraguan nigerien nigerian korean norwegian omani pakistani palestinian panamanian paraguayan peruvian
portuguese qatari romanian russian rwandan salvadoran salvadorean samoan saudi scottish scots
senegalese serbian serb seychellois singaporean slovak slovakian slovenian somali somalian
somalilander spanish sudanese surinamese swazi swedish swiss syrian taiwanese tajik tajikistani
tanzanian thai tibetan togolese tongan trinidadian tobagonian tunisian turkish turkmen tuvaluan ugandan
ukrainian uruguayan uzbek venezuelan vietnamese welsh yemeni zambian zimbabwean bermudian macanese
kurdish kurd arab turk brit yemenite sahrawi rohingya hazara uyghur uighur pashtun baloch tamil oromo
romani chechen kurdistani
costa-rican cape-verdean sri-lankan sierra-leonean new-zealander puerto-rican hong-konger
frenchman frenchwoman englishman englishwoman irishman irishwoman scotsman scotswoman welshman
welshwoman dutchman dutchwoman
latina latino latinx hispanic european eastern-european latin-american south-american central-american
middle-eastern north-african west-african east-african central-african southern-african sub-saharan
"""
_LANGUAGES = """
arabic farsi dari pashto pashtu urdu punjabi bengali bangla sylheti gujarati hindi sinhala sinhalese
mandarin cantonese tigrinya amharic swahili kiswahili lingala yoruba igbo hausa twi akan sorani
kurmanji tagalog malay hebrew patois creole krio wolof fula tigre berber amazigh
"""
# Not here, on purpose: the countries of the UK (they are where these services are; arriving
# in them is covered above), and country names that are common words or first names (Chad,
# Jordan, Georgia, Jersey); Turkey, China, Chile, Panama, Niger and Guinea are matched
# case-sensitively below.
_COUNTRIES = """
afghanistan albania algeria america usa united-states angola argentina armenia australia austria
azerbaijan bahrain bangladesh belarus belgium bolivia bosnia herzegovina brazil bulgaria burma myanmar
burundi cambodia cameroon canada colombia columbia congo drc croatia cuba cyprus czechia
czech-republic denmark egypt eritrea estonia ethiopia eswatini fiji finland france gambia germany
ghana greece guatemala guyana haiti honduras hong-kong hungary iceland india indonesia iran iraq
israel italy ivory-coast cote-d'ivoire jamaica japan kazakhstan kenya kosovo kurdistan kuwait latvia
lebanon liberia libya lithuania luxembourg macedonia malawi malaysia mali malta mauritius mexico
moldova mongolia montenegro morocco mozambique namibia nepal netherlands new-zealand nicaragua nigeria
north-korea south-korea korea norway oman pakistan palestine gaza west-bank paraguay peru philippines
poland portugal qatar romania russia rwanda saudi-arabia senegal serbia sierra-leone singapore
slovakia slovenia somalia somaliland south-africa spain sri-lanka sudan south-sudan sweden switzerland
syria taiwan tajikistan tanzania thailand tibet togo trinidad tobago tunisia türkiye turkmenistan uganda
ukraine uae dubai uruguay uzbekistan venezuela vietnam viet-nam yemen zambia zimbabwe
el-salvador kyrgyzstan laos chechnya dagestan papua-new-guinea equatorial-guinea guinea-bissau
"""


def _word_list(*blocks: str) -> str:
    return "|".join(sorted({w.replace("-", " ") for block in blocks for w in block.split()}))


# Rules whose matches get a further check in `_matches`: a demonym must not be followed by a
# false friend ("Chinese takeaway"), and a few words count only when capitalised as a name is
# ("Polish", not "polish"; "Turkey", not "turkey"; "HO" for the Home Office, not "ho").
_NATIONALITY_WORD = "nationality, unless a false friend follows"
_CAPITALISED_COUNTRY = "nationality, if capitalised"
_UPPER_CASE_STATUS = "immigration status, if in upper case"

_NATIONALITY_SPEC: tuple[_Rule, ...] = (
    (_NATIONALITY_WORD, _word_list(_DEMONYMS, _LANGUAGES), r"s?\b"),
    (_NATIONALITY_WORD, _word_list(_COUNTRIES), r"\b"),
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
    (
        _NATIONALITY,
        "interpreter",
        r"(?<!bsl\sinterpreter)(?<!sign\slanguage\sinterpreter)s?\b",
    ),
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
)

# After a demonym or a country, these make it the name of a thing or a place ("Chinese
# takeaway", "German Shepherd", "Jamaica Road") rather than a description of a person.
_FALSE_FRIEND = re.compile(
    r"\s+(?:takeaways?|restaurants?|food|cuisine|meals?|dish|curry|wax|waxing|delight|rolls?|pastry|pastries|fries"
    r"|toast|windows?|doors?|polish|horn|kiss|bread|sticks?|cheese|army|shepherds?|knotweed|eggs?|stew|coffee"
    r"|tea|breakfast|wave|courage|lanterns?|whispers|bath|roulette|omelett?e|rarebit|waffles?|chocolates?"
    r"|yogh?urt|salad|massage|summer|numerals|football|hounds?|rugs?|carpets?|cotton|cats?|ink|express"
    r"|mastiffs?|terriers?|setters?|bulldogs?|pointers?|sausages?|beer|lager|vodka|whiske?y|wine|gin|rum"
    r"|gas|airways|airlines|transport\s+police|telecom|rail|legion|heart\s+foundation|museum|library"
    r"|standard|sign\s+language|government|water|power|ambulance|heritage|sea|ocean|terraces?|houses?"
    r"|architecture|era|period|style|townhouses?|square|flu|ivy|muffins?|mustard|dressing|onions?|baths|manicure"
    r"|road|street|st|avenue|lane|park|place|way|close|gardens?|estate|wharf|docks?|stadium)\b"
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
    """Every rule match in `text`: (start, end, reason), in order."""
    low = _lowered(text)
    for m in _RULES.finditer(low):
        marker = m.lastgroup
        assert marker is not None
        reason = _MARKERS[marker]
        if reason == _NATIONALITY_WORD:
            if _FALSE_FRIEND.match(low, m.end()):
                continue
            reason = _NATIONALITY
        elif reason == _CAPITALISED_COUNTRY:
            word = m.group()
            original = text[m.start() : m.end()]
            if not (original.isupper() or (original[:1].isupper() and original[1:] == word[1:])):
                continue
            reason = _NATIONALITY
        elif reason == _UPPER_CASE_STATUS:
            if not text[m.start() : m.end()].isupper():
                continue
            reason = _STATUS
        yield m.start(), m.end(), reason
