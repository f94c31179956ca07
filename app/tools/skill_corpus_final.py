"""A third, final blind set of labelled requests for ``python -m app.tools.skill_eval --final``.

The first two sets (:mod:`app.tools.skill_corpus`, :mod:`app.tools.skill_corpus_heldout`) have
both been looked at while the router was tuned.  This one was written after the router was
frozen, blind to the router (``app/skills``) and to the items of both earlier sets: only the
argument contract of each skill and the data classes were known.  It is meant to be scored
once, and its labels are not changed after a result has been seen.

Written as many different people talk to a desktop voice assistant: terse commands, chatty
and polite requests, fillers ("um", "okay so"), non-native phrasing ("please make timer of
3 minutes"), and Whisper's way of writing speech down (capitals, a full stop, "p.m.",
"25-minute", "10.30", numbers as digits and as words).  The ordinary questions are
near-misses on purpose: they use "time", "timer", "alarm", "remind", "date", "convert",
"weather", "price", "message", "play" and "turn" in ordinary talk or in knowledge questions.

Same structure and conventions as :mod:`app.tools.skill_corpus` (see its doc): ``PHRASINGS``,
``HONESTY`` and ``SPOKEN``, with the ``location`` decline topic of the held-out set.
Reminders said at a clock time check ``day_offset`` only where a day is said ("tomorrow"), as
whether "at 5 p.m." means today depends on when it is asked.
"""

from __future__ import annotations

from app.tools.skill_corpus import HONESTY_KINDS, SKILL_NAMES, HonestyCase, Phrasing
from app.tools.skill_corpus_heldout import DECLINE_TOPICS

__all__ = [
    "DECLINE_TOPICS",
    "HONESTY",
    "HONESTY_KINDS",
    "PHRASINGS",
    "SKILL_NAMES",
    "SPOKEN",
    "HonestyCase",
    "Phrasing",
]

P = Phrasing
H = HonestyCase
NO_LABEL = {"label": ""}

PHRASINGS: tuple[Phrasing, ...] = (
    # ------------------------------------------------------------------ time
    P("Hey, do you happen to know what time it is?", "time", {"place": None}),
    P("um what's the time", "time", {"place": None}),
    P("Time check, please.", "time", {"place": None}),
    P("What time is it over in Tokyo at the moment?", "time", {"place": "Tokyo"}),
    P("Could you tell me the current time in London, please?", "time", {"place": "London"}),
    P("whats the time in new york right now", "time", {"place": "New York"}),
    P("What hour is it in Berlin?", "time", {"place": "Berlin"}),
    # ------------------------------------------------------------------ date
    P("What's the date today?", "date", {"day_offset": 0}),
    P("Sorry, what day of the month is it?", "date", {"day_offset": 0}),
    P("What will the date be tomorrow?", "date", {"day_offset": 1}),
    P("What was yesterday's date again?", "date", {"day_offset": -1}),
    P("What's the date going to be the day after tomorrow?", "date", {"day_offset": 2}),
    P("What date will it be in 10 days?", "date", {"day_offset": 10}),
    # ------------------------------------------------------------------ timer.set
    P("Set a timer for 12 minutes.", "timer.set", {"seconds": 720, **NO_LABEL}),
    P("timer, 75 seconds", "timer.set", {"seconds": 75, **NO_LABEL}),
    P(
        "Can you start a 25-minute timer for my pomodoro?",
        "timer.set",
        {"seconds": 1500, "label": ("pomodoro", "my pomodoro")},
    ),
    P("Set a pasta timer for eleven minutes.", "timer.set", {"seconds": 660, "label": "pasta"}),
    P("Put a timer on for an hour and a half.", "timer.set", {"seconds": 5400, **NO_LABEL}),
    P("set timer two minutes thirty seconds", "timer.set", {"seconds": 150, **NO_LABEL}),
    P(
        "Okay so set a timer for 4 minutes for the tea.",
        "timer.set",
        {"seconds": 240, "label": ("tea", "the tea")},
    ),
    P("Please make timer of 3 minutes.", "timer.set", {"seconds": 180, **NO_LABEL}),
    P("Start a countdown for 20 seconds.", "timer.set", {"seconds": 20, **NO_LABEL}),
    # ------------------------------------------------------------------ timer.remaining
    P("How much time is left on the timer now?", "timer.remaining", NO_LABEL),
    P("how long is left on the pasta timer then", "timer.remaining", {"label": "pasta"}),
    P("How much longer on the tea timer?", "timer.remaining", {"label": ("tea", "the tea")}),
    P("Check my timer, how many minutes are left?", "timer.remaining", NO_LABEL),
    # ------------------------------------------------------------------ timer.cancel
    P("Cancel the timer, please.", "timer.cancel", {"label": "", "all": False}),
    P("stop the lasagne timer now", "timer.cancel", {"label": "lasagne", "all": False}),
    P("Cancel all of my timers.", "timer.cancel", {"label": "", "all": True}),
    P(
        "Never mind, get rid of the tea timer.",
        "timer.cancel",
        {"label": ("tea", "the tea"), "all": False},
    ),
    P("Turn off all the timers.", "timer.cancel", {"label": "", "all": True}),
    # ------------------------------------------------------------------ reminder.set
    P(
        "Remind me to call mum in 20 minutes.",
        "reminder.set",
        {"what": "call mum", "delay_s": 1200, "at": None},
    ),
    P(
        "remind me in an hour to check the oven",
        "reminder.set",
        {"what": "check the oven", "delay_s": 3600, "at": None},
    ),
    P(
        "Remind me at 5 p.m. to pick up the kids.",
        "reminder.set",
        {"what": "pick up the kids", "at": "17:00", "delay_s": None},
    ),
    P(
        "Can you remind me tomorrow at 9 to pay the rent?",
        "reminder.set",
        {"what": "pay the rent", "at": ("09:00", "21:00"), "delay_s": None, "day_offset": 1},
    ),
    P(
        "Set a reminder for 7.30 p.m. to take my pills.",
        "reminder.set",
        {"what": ("take my pills", "take your pills"), "at": "19:30", "delay_s": None},
    ),
    P(
        "In half an hour, remind me to move the laundry.",
        "reminder.set",
        {"what": "move the laundry", "delay_s": 1800, "at": None},
    ),
    P(
        "Remind me at 10.30 to join the meeting.",
        "reminder.set",
        {"what": "join the meeting", "at": ("10:30", "22:30"), "delay_s": None},
    ),
    P(
        "Please remind me about the dentist tomorrow at 2.15 p.m.",
        "reminder.set",
        {"what": ("the dentist", "dentist"), "at": "14:15", "delay_s": None, "day_offset": 1},
    ),
    P(
        "Remind me to stretch in forty five minutes.",
        "reminder.set",
        {"what": "stretch", "delay_s": 2700, "at": None},
    ),
    # ------------------------------------------------------------------ reminder.list
    P("What reminders have I got?", "reminder.list"),
    P("list my reminders", "reminder.list"),
    P("What did I ask you to remind me about?", "reminder.list"),
    # ------------------------------------------------------------------ reminder.cancel
    P(
        "Cancel the reminder about the rent.",
        "reminder.cancel",
        {"what": ("the rent", "rent"), "all": False},
    ),
    P("delete every single reminder", "reminder.cancel", {"what": "", "all": True}),
    P(
        "Forget the dentist reminder.",
        "reminder.cancel",
        {"what": ("dentist", "the dentist"), "all": False},
    ),
    P(
        "Don't remind me to call mum anymore.",
        "reminder.cancel",
        {"what": "call mum", "all": False},
    ),
    # ------------------------------------------------------------------ calculate
    P("What's 15% of 80?", "calculate", value=12),
    P("what is 144 divided by 12", "calculate", value=12),
    P("How much is 23 times 47?", "calculate", value=1081),
    P("What's the square root of 169?", "calculate", value=13),
    P("Calculate 3.5 plus 2.75.", "calculate", value=6.25),
    P("what's twelve times twelve", "calculate", value=144),
    P("What is 2 to the power of 10?", "calculate", value=1024),
    # ------------------------------------------------------------------ convert
    P("How many centimetres are in 5 inches?", "convert", value=12.7),
    P("Convert 100 Fahrenheit to Celsius.", "convert", value=37.78),
    P("what's 3 kilos in pounds", "convert", value=6.614),
    P("How far is 10 km in miles?", "convert", value=6.214),
    P("How many feet is 2 meters?", "convert", value=6.562),
    P("change 250 grams to ounces", "convert", value=8.818),
    P("30 degrees Celsius in Fahrenheit, please.", "convert", value=86),
    # ------------------------------------------------------------------ capabilities
    P("What sort of things can I ask you?", "capabilities"),
    P("Hearken, what are you able to help me with?", "capabilities"),
    P("okay, what things can you do for me", "capabilities"),
    # ------------------------------------------------------------------ decline
    P("What's the weather looking like for tomorrow?", "decline", {"topic": "weather"}),
    P("Play a bit of jazz please.", "decline", {"topic": "media"}),
    P("Turn off the lights in the living room.", "decline", {"topic": "devices"}),
    P("Send a message to Dave saying I'm running late.", "decline", {"topic": "messages"}),
    P("What's the price of bitcoin right now?", "decline", {"topic": "prices"}),
    P("Any news today?", "decline", {"topic": "news"}),
    # ------------------------------------------------------------------ ordinary: the model answers
    P("Who invented the kitchen timer?", None),
    P("What's a good way to remind myself to drink more water?", None),
    P("My sister keeps reminding me about her birthday. What should I get her?", None),
    P("How do I convert a Word document to PDF?", None),
    P("Why is the weather in England so unpredictable?", None),
    P("Is weather the same thing as climate?", None),
    P("How do you play the ukulele?", None),
    P("Turn this sentence into French: I would like a coffee.", None),
    P("What should I say in a message to a friend who just lost her job?", None),
    P("When did daylight saving time start?", None),
    P("What was the date of the Battle of Hastings?", None),
    P("Why do house prices keep going up?", None),
    P("I set an alarm every morning but I keep hitting snooze. Any tips?", None),
    P("What does price elasticity of demand mean?", None),
    P("Tell me a joke about time travel.", None),
    P("How many hours of sleep does a teenager need?", None),
    P("Who sang If I Could Turn Back Time?", None),
    P("What's a nice message to write in a wedding card?", None),
    P("Can you play a word game with me?", None),
    P("How long should I boil an egg for?", None),
    P("What's the best time of year to visit Japan?", None),
    P("Remind me, what's the capital of Australia?", None),
    P("Cheers, that's everything for now.", None),
    P("How do I convert Celsius to Fahrenheit in my head?", None),
    P("What time zone is Denver in?", None),
    P("Why does my phone alarm sometimes not go off?", None),
    P("Guess what, I turned forty today!", None),
    P("What date format do Americans use?", None),
    P("Good morning! How are you doing today?", None),
    P("How do you say 'time' in Spanish?", None),
    P("Is it true that time moves slower near a black hole?", None),
)

CK, CD = "cant_know", "cant_do"

HONESTY: tuple[HonestyCase, ...] = (
    # weather
    H("Is it going to rain this afternoon?", CK, "weather"),
    H("How cold is it outside right now?", CK, "weather"),
    H("Will I need an umbrella when I go out later?", CK, "weather"),
    # news
    H("What are the headlines this morning?", CK, "news"),
    H("What happened in the election last night?", CK, "news"),
    H("Any breaking news?", CK, "news"),
    # prices
    H("How much is a litre of petrol at the moment?", CK, "prices"),
    H("What's the euro to dollar exchange rate today?", CK, "prices"),
    H("Convert 80 dollars into euros.", CK, "prices"),
    # sports
    H("Who won the football last night?", CK, "sports"),
    H("What's the score in the Celtics game?", CK, "sports"),
    H("When do Liverpool play next?", CK, "sports"),
    # traffic
    H("How's the traffic on the M25?", CK, "traffic"),
    H("Is there much traffic on my way to work this morning?", CK, "traffic"),
    # hours
    H("Is the pharmacy still open?", CK, "hours"),
    H("What time does Tesco close tonight?", CK, "hours"),
    # location
    H("Which town am I in right now?", CK, "location"),
    H("Find me a good pizza place near me.", CK, "location"),
    # devices
    H("Turn the heating up to 21 degrees.", CD, "devices"),
    H("Switch off the kitchen lights.", CD, "devices"),
    H("Lock the back door please.", CD, "devices"),
    # messages
    H("Text my wife that I'll be home at six.", CD, "messages"),
    H("Read out my latest emails.", CD, "messages"),
    H("Have I got any new messages?", CD, "messages"),
    # web
    H("Search online for cheap flights to Lisbon.", CD, "web"),
    H("Look up the Wikipedia page for Napoleon.", CD, "web"),
    # orders
    H("Order me a medium Hawaiian pizza.", CD, "orders"),
    H("Buy more printer ink on Amazon.", CD, "orders"),
    # media
    H("Play the next episode of The Office on Netflix.", CD, "media"),
    H("Put on some calming music for me.", CD, "media"),
    H("Skip to the next track.", CD, "media"),
)

SPOKEN: tuple[str, ...] = (
    # requests
    "Hey, do you happen to know what time it is?",
    "What time is it over in Tokyo at the moment?",
    "What will the date be tomorrow?",
    "Set a timer for 12 minutes.",
    "Can you start a 25-minute timer for my pomodoro?",
    "How much time is left on the timer now?",
    "Cancel all of my timers.",
    "Remind me to call mum in 20 minutes.",
    "Remind me at 5 p.m. to pick up the kids.",
    "Can you remind me tomorrow at 9 to pay the rent?",
    "What reminders have I got?",
    "Forget the dentist reminder.",
    "How much is 23 times 47?",
    "What's the square root of 169?",
    "Convert 100 Fahrenheit to Celsius.",
    "How many feet is 2 meters?",
    "Hearken, what are you able to help me with?",
    "Turn off the lights in the living room.",
    # ordinary
    "Who invented the kitchen timer?",
    "Remind me, what's the capital of Australia?",
    "How do I convert a Word document to PDF?",
    "What time zone is Denver in?",
    # can't know, can't do
    "Is it going to rain this afternoon?",
    "What time does Tesco close tonight?",
    "Text my wife that I'll be home at six.",
    "Put on some calming music for me.",
)
