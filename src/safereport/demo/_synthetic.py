"""Small built-in word lists for the synthetic workload. Every name, address and number made
from them is invented: phone numbers are in Ofcom's drama range (07700 900xxx) and e-mail
addresses use the reserved `example.*` domains.
"""

from __future__ import annotations

# (nationality, relative weight, first names, surnames). British names are drawn from every
# group as well as their own, because British people are not all called Smith.
NAME_GROUPS: tuple[tuple[str, int, tuple[str, ...], tuple[str, ...]], ...] = (
    (
        "British",
        58,
        (
            "Oliver",
            "Emma",
            "Jack",
            "Sophie",
            "Harry",
            "Chloe",
            "George",
            "Amelia",
            "Liam",
            "Grace",
            "Rhys",
            "Megan",
            "Callum",
            "Isla",
            "Aled",
            "Siobhan",
        ),
        (
            "Smith",
            "Jones",
            "Taylor",
            "Brown",
            "Williams",
            "Wilson",
            "Evans",
            "Hughes",
            "Walker",
            "Wright",
            "Roberts",
            "Grant",
            "Murphy",
            "Davies",
            "Clarke",
            "Patel",
        ),
    ),
    (
        "Polish",
        4,
        ("Kasia", "Piotr", "Agnieszka", "Tomasz", "Magda", "Pawel"),
        ("Nowak", "Kowalski", "Wisniewska", "Wojcik", "Kaminski", "Lewandowska"),
    ),
    (
        "Romanian",
        4,
        ("Ion", "Elena", "Andrei", "Ioana", "Mihai", "Daniela"),
        ("Popescu", "Ionescu", "Dumitru", "Stan", "Gheorghe", "Matei"),
    ),
    (
        "Brazilian",
        3,
        ("Maria", "Joao", "Ana", "Lucas", "Fernanda", "Rafael"),
        ("Silva", "Santos", "Oliveira", "Souza", "Pereira", "Costa"),
    ),
    ("Portuguese", 2, ("Ines", "Tiago", "Beatriz", "Rui"), ("Ferreira", "Rodrigues", "Almeida", "Carvalho")),
    (
        "Nigerian",
        3,
        ("Chidi", "Ngozi", "Tunde", "Funmi", "Emeka", "Adaeze"),
        ("Okafor", "Adeyemi", "Eze", "Balogun", "Nwosu", "Okonkwo"),
    ),
    ("Ghanaian", 2, ("Kwame", "Ama", "Kofi", "Akosua"), ("Mensah", "Boateng", "Asante", "Owusu")),
    (
        "Indian",
        3,
        ("Priya", "Arjun", "Deepa", "Rahul", "Anjali", "Vikram"),
        ("Sharma", "Gupta", "Singh", "Reddy", "Nair", "Iyer"),
    ),
    ("Pakistani", 2, ("Ayesha", "Imran", "Sana", "Bilal"), ("Khan", "Hussain", "Akhtar", "Qureshi")),
    ("Bangladeshi", 2, ("Nusrat", "Rafiq", "Taslima", "Jamal"), ("Rahman", "Begum", "Uddin", "Chowdhury")),
    ("Albanian", 2, ("Arben", "Elira", "Besnik", "Drita"), ("Hoxha", "Krasniqi", "Berisha", "Shehu")),
    ("Eritrean", 2, ("Yonas", "Senait", "Dawit", "Helen"), ("Tesfay", "Gebremariam", "Haile", "Kidane")),
    ("Sudanese", 1, ("Mohamed", "Amna", "Osman", "Fatima"), ("Abdalla", "Elamin", "Ibrahim", "Yousif")),
    ("Afghan", 2, ("Ahmad", "Zarghona", "Farid", "Mariam"), ("Rahimi", "Ahmadzai", "Karimi", "Noori")),
    ("Iranian", 2, ("Ahmed", "Shirin", "Reza", "Leila"), ("Nouri", "Hosseini", "Moradi", "Tehrani")),
    ("Syrian", 1, ("Omar", "Rania", "Khaled", "Lina"), ("Haddad", "Kassem", "Sabbagh", "Nasser")),
    ("Vietnamese", 2, ("Minh", "Lan", "Duc", "Thao"), ("Nguyen", "Tran", "Le", "Pham")),
    ("Chinese", 2, ("Wei", "Li Na", "Jun", "Mei"), ("Wang", "Zhang", "Chen", "Liu")),
    ("Filipino", 1, ("Maricel", "Jose", "Analyn", "Ramon"), ("Santos", "Reyes", "Cruz", "Bautista")),
    (
        "Ukrainian",
        2,
        ("Olena", "Dmytro", "Iryna", "Oleksandr"),
        ("Shevchenko", "Kovalenko", "Bondarenko", "Tkachenko"),
    ),
    ("Jamaican", 1, ("Marcia", "Delroy", "Shanice", "Winston"), ("Campbell", "Brown", "Francis", "Reid")),
    ("Somali", 1, ("Hodan", "Abdi", "Faadumo", "Yusuf"), ("Warsame", "Farah", "Jama", "Egal")),
    (
        "Lithuanian",
        1,
        ("Ruta", "Tomas", "Egle", "Mantas"),
        ("Kazlauskas", "Jankauskaite", "Petrauskas", "Vasiliauskas"),
    ),
)

# Values of `immigration_status`; only some non-British people have one recorded at all.
IMMIGRATION_STATUSES: tuple[str, ...] = (
    "visa expired 2024",
    "visa expired 2025",
    "leave to remain until 2027",
    "asylum claim pending",
    "refugee status",
    "settled status (EUSS)",
    "pre-settled status",
    "no recourse to public funds",
    "spouse visa",
    "student visa",
    "skilled worker visa",
    "overstayer (unconfirmed)",
    "status unknown",
)

STREETS: tuple[str, ...] = (
    "Acre Lane",
    "High Street",
    "Station Road",
    "Church Street",
    "Victoria Road",
    "Park Avenue",
    "Mill Lane",
    "Queens Road",
    "Broad Street",
    "Soho Road",
    "Harbour Street",
    "Manor Way",
    "Albert Terrace",
    "Green Lane",
    "Kings Road",
    "New Road",
    "The Crescent",
    "Chapel Row",
    "Market Place",
    "Elm Grove",
    "Canal Side",
    "Oxford Road",
    "London Road",
    "Bridge Street",
)

TOWNS: tuple[str, ...] = (
    "London",
    "Manchester",
    "Birmingham",
    "Leeds",
    "Bristol",
    "Liverpool",
    "Newcastle",
    "Sheffield",
    "Nottingham",
    "Leicester",
    "Cardiff",
    "Swansea",
    "Norwich",
    "Ipswich",
    "Exeter",
    "Plymouth",
    "Southampton",
    "Brighton",
    "Reading",
    "Oxford",
    "Cambridge",
    "Peterborough",
    "Derby",
    "Stoke",
    "Coventry",
    "Worcester",
    "Gloucester",
    "Bournemouth",
    "Chelmsford",
    "Maidstone",
    "Folkestone",
    "Luton",
    "Northampton",
    "Lincoln",
    "Hull",
    "York",
    "Middlesbrough",
    "Durham",
    "Carlisle",
    "Preston",
    "Chester",
    "Wrexham",
    "Newport",
    "Swindon",
    "Guildford",
    "Crawley",
    "Bedford",
)

HEALTH: tuple[str, ...] = (
    "type 2 diabetes",
    "asthma",
    "hypertension",
    "depression",
    "anxiety disorder",
    "pregnancy, 24 weeks",
    "pregnancy, 12 weeks",
    "latent TB under treatment",
    "HIV, on treatment",
    "chronic back pain",
    "post-traumatic stress disorder",
    "epilepsy",
    "hepatitis B",
    "COPD",
    "none recorded",
)

# Sentences that reveal, or hint at, a person's immigration status.
REVEALING: tuple[str, ...] = (
    "She said her visa had expired.",
    "He threatened to report her to the Home Office.",
    "The victim said she was afraid to call the police because of her immigration status.",
    "He told officers he had no leave to remain.",
    "She is waiting for a decision on her asylum claim.",
    "Her employer has kept her passport since she arrived.",
    "He said he overstayed his student visa.",
    "The suspect told her nobody would believe someone without papers.",
)

CRIME_SENTENCES: tuple[str, ...] = (
    "Officers attended at 22:40 and found the front door damaged.",
    "The victim reported being assaulted by her former partner at home.",
    "A mobile phone was taken from the victim's bag on the bus.",
    "The suspect left before police arrived.",
    "CCTV has been requested from the shop opposite.",
    "The witness saw two men running towards the station.",
    "Injuries to the left arm were photographed with consent.",
    "The victim was referred to the local domestic abuse service.",
    "A neighbour called police after hearing shouting.",
    "The van was found burnt out the following morning.",
    "Threatening messages were sent over several weeks.",
    "The victim was followed home from work on three occasions.",
    "A bicycle was stolen from the rack outside the station.",
    "House-to-house enquiries were completed on the street.",
    "The caller reported a man trying car door handles.",
    "A knife was recovered from the garden.",
)

INTEL_SENTENCES: tuple[str, ...] = (
    "Intelligence entry compiled from earlier reports.",
    "Address of interest noted from a domestic abuse report.",
    "Subject seen at the address on several occasions.",
    "Vehicle linked to the subject recorded by ANPR.",
    "Information shared at the weekly tasking meeting.",
    "Subject associated with a local group involved in shoplifting.",
    "Grading: B2, source believed reliable.",
)

GP_SENTENCES: tuple[str, ...] = (
    "Patient attended with a persistent cough.",
    "Repeat prescription reviewed and renewed.",
    "Blood pressure checked and within range.",
    "Referred to the community mental health team.",
    "Antenatal booking appointment completed.",
    "Patient reports poor sleep and low mood.",
    "Wound dressing changed by the practice nurse.",
    "Vaccinations brought up to date.",
)

GP_REVEALING: tuple[str, ...] = (
    "Patient worried about NHS charges because of her visa status.",
    "Patient said he has no recourse to public funds.",
    "Patient asked whether the surgery shares details with the Home Office.",
)

COUNCIL_SENTENCES: tuple[str, ...] = (
    "Home visit completed with the family present.",
    "Referral received from the school safeguarding lead.",
    "Temporary accommodation arranged for two weeks.",
    "Family supported with a food bank voucher.",
    "Child seen alone and appeared well.",
    "Case discussed at the multi-agency meeting.",
    "Housing officer to follow up on damp in the flat.",
)

COUNCIL_REVEALING: tuple[str, ...] = (
    "The family has no recourse to public funds.",
    "Mother said her leave to remain expired last year.",
    "Support provided under section 17 pending the asylum decision.",
)

LEGAL_BASES: dict[str, tuple[str, ...]] = {
    "policing": (
        "DPA 2018 Part 3, law enforcement purposes",
        "Police and Criminal Evidence Act 1984",
        "Crime and Disorder Act 1998 s.115",
    ),
    "prosecution": ("Criminal Procedure and Investigations Act 1996", "DPA 2018 Part 3, prosecution"),
    "safeguarding": ("Children Act 1989 s.47", "Care Act 2014 s.42", "Children Act 2004 s.11"),
    "healthcare": ("UK GDPR Art 6(1)(e) and 9(2)(h)", "Direct care, implied consent"),
    "benefits": ("Social Security Administration Act 1992 s.110A",),
    "immigration": (
        "Immigration Act 1971 Sch 2",
        "DPA 2018 Sch 2 para 4 (immigration)",
        "Immigration and Asylum Act 1999 s.20",
    ),
    "consent": ("Consent of the data subject", "UK GDPR Art 6(1)(a)"),
}

JUSTIFICATIONS: dict[str, tuple[str, ...]] = {
    "policing": (
        "Linked offence under investigation in our area.",
        "Suspect identification for a burglary series.",
        "Cross-border enquiry into a robbery.",
    ),
    "prosecution": ("File preparation for a charging decision.", "Disclosure schedule for trial."),
    "safeguarding": ("Child protection enquiry following a referral.", "Adult at risk, strategy meeting."),
    "healthcare": ("Patient registered with our practice; records transfer.", "Continuity of care."),
    "benefits": ("Verification of a benefit claim.",),
    "immigration": (
        "Status verification for an enforcement case.",
        "Locate and remove.",
        "Intelligence development.",
    ),
    "disguised": (
        "Welfare check on a vulnerable adult.",
        "Serious crime enquiry, urgent.",
        "Safeguarding concern raised by a partner agency.",
    ),
    "consent": (
        "Victim's application for leave to remain, supported by the police.",
        "Domestic abuse concession application.",
    ),
}
