"""A second held-out set of labelled requests for ``python -m app.tools.skill_eval --heldout``.

The first set (:mod:`app.tools.skill_corpus`) has been looked at while the router was tuned, so
it no longer measures how the router does on requests it has not seen.  This set was written
afterwards, blind to both the router (``app/skills``) and the first set's items: only the
argument contract of each skill and the data classes below were known.

Written as different people talk to a desktop assistant: terse commands, chatty and polite
requests, non-native phrasing ("how much is the clock"), and Whisper's way of writing speech
down (capitals, a full stop, "p.m.", "10-minute", "5.45", numbers as digits and as words).
The ordinary questions are near-misses on purpose: they use "timer", "remind", "time",
"date", "convert", "weather", "news", "price" in ordinary talk, ask knowledge questions that
carry numbers and units, and ask how to do things.

Same structure and conventions as :mod:`app.tools.skill_corpus` (see its doc): ``PHRASINGS``,
``HONESTY`` and ``SPOKEN``; this set adds the ``location`` decline topic (where am I, what is
near me), which an offline assistant cannot know either.
"""

from __future__ import annotations

from app.tools.skill_corpus import DECLINE_TOPICS as _FIRST_TOPICS
from app.tools.skill_corpus import HONESTY_KINDS, SKILL_NAMES, HonestyCase, Phrasing

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

DECLINE_TOPICS: tuple[str, ...] = _FIRST_TOPICS + tuple(t for t in ("location",) if t not in _FIRST_TOPICS)

P = Phrasing
H = HonestyCase

PHRASINGS: tuple[Phrasing, ...] = (
    # ------------------------------------------------------------------ time
    P("You got the time, mate?", "time", {"place": None}),
    P("Hey, do you know what time it is right now?", "time", {"place": None}),
    P("Current time?", "time", {"place": None}),
    P("How much is the clock?", "time", {"place": None}),
    P("What's the time in Tokyo?", "time", {"place": "Tokyo"}),
    P("could you tell me the current time in new york", "time", {"place": "New York"}),
    P("What time is it over in London at the moment?", "time", {"place": "London"}),
    P(
        "Sorry to bother you, what time is it in Sydney, Australia?",
        "time",
        {"place": ("Sydney", "Sydney Australia")},
    ),
    # ------------------------------------------------------------------ date
    P("What's the date today, please?", "date", {"day_offset": 0}),
    P("today is which day", "date", {"day_offset": 0}),
    P("Tell me which date we have today.", "date", {"day_offset": 0}),
    P("Which date is tomorrow?", "date", {"day_offset": 1}),
    P("Yesterday was what date?", "date", {"day_offset": -1}),
    P("What day of the week is the day after tomorrow?", "date", {"day_offset": 2}),
    P("Um, is today the 14th or the 15th?", "date", {"day_offset": 0}),
    # ------------------------------------------------------------------ timer.set
    P("Set a timer for 7 minutes.", "timer.set", {"seconds": 420, "label": ""}),
    P("timer 90 seconds", "timer.set", {"seconds": 90, "label": ""}),
    P("Can you start a 10-minute timer for the pasta?", "timer.set", {"seconds": 600, "label": "pasta"}),
    P(
        "Please set an egg timer for four and a half minutes.",
        "timer.set",
        {"seconds": 270, "label": ("egg", "")},
    ),
    P("Put a timer on for one hour.", "timer.set", {"seconds": 3600, "label": ""}),
    P("set a timer for 1 hour and 15 minutes", "timer.set", {"seconds": 4500, "label": ""}),
    P("Start a tea timer, three minutes.", "timer.set", {"seconds": 180, "label": "tea"}),
    P("I want a timer of two minutes.", "timer.set", {"seconds": 120, "label": ""}),
    P("Could you count down 45 seconds for me?", "timer.set", {"seconds": 45, "label": ""}),
    P("Set a two-minute timer.", "timer.set", {"seconds": 120, "label": ""}),
    # ------------------------------------------------------------------ timer.remaining
    P("How long before my timer rings?", "timer.remaining", {"label": ""}),
    P("how long left on the pasta timer", "timer.remaining", {"label": "pasta"}),
    P("How many minutes are left on the tea timer?", "timer.remaining", {"label": "tea"}),
    P("Hey, how long until the timer goes off?", "timer.remaining", {"label": ""}),
    # ------------------------------------------------------------------ timer.cancel
    P("Please cancel that timer.", "timer.cancel", {"label": "", "all": False}),
    P("stop the rice timer", "timer.cancel", {"label": "rice", "all": False}),
    P("Get rid of all the timers.", "timer.cancel", {"all": True}),
    P("Never mind the egg timer, turn it off.", "timer.cancel", {"label": "egg", "all": False}),
    # ------------------------------------------------------------------ reminder.set
    P(
        "Remind me to call my mom in 20 minutes.",
        "reminder.set",
        {"what": ("call my mom", "to call my mom"), "delay_s": 1200, "at": None},
    ),
    P(
        "remind me at 6 p.m. to take out the trash",
        "reminder.set",
        {"what": ("take out the trash", "to take out the trash"), "at": "18:00", "delay_s": None},
    ),
    P(
        "Set an alarm for 7 tomorrow morning.",
        "reminder.set",
        {"at": "07:00", "day_offset": 1, "delay_s": None},
    ),
    P("Wake me up at 6:30 a.m.", "reminder.set", {"at": "06:30", "delay_s": None}),
    P(
        "Can you remind me in an hour to check the oven?",
        "reminder.set",
        {"what": ("check the oven", "to check the oven"), "delay_s": 3600, "at": None},
    ),
    P(
        "Remind me tomorrow at 9 to send the invoice.",
        "reminder.set",
        {"what": ("send the invoice", "to send the invoice"), "at": ("09:00", "21:00"), "day_offset": 1},
    ),
    P("Please set an alarm at 5.45.", "reminder.set", {"at": ("05:45", "17:45"), "delay_s": None}),
    P(
        "In 2 hours remind me to move the car.",
        "reminder.set",
        {"what": ("move the car", "to move the car"), "delay_s": 7200, "at": None},
    ),
    P(
        "Don't let me forget to water the plants at 8 pm.",
        "reminder.set",
        {"what": ("water the plants", "to water the plants"), "at": "20:00"},
    ),
    P(
        "Remind me at quarter past 3 to pick up the kids.",
        "reminder.set",
        {"what": ("pick up the kids", "to pick up the kids"), "at": ("03:15", "15:15")},
    ),
    P("Hey, wake me up in 40 minutes, I'm taking a nap.", "reminder.set", {"delay_s": 2400, "at": None}),
    P("Make alarm for six o'clock morning.", "reminder.set", {"at": "06:00", "delay_s": None}),
    P(
        "Could you please remind me in half an hour to take my pills?",
        "reminder.set",
        {"what": ("take my pills", "to take my pills"), "delay_s": 1800, "at": None},
    ),
    # ------------------------------------------------------------------ reminder.list
    P("Which reminders have I set?", "reminder.list"),
    P("list my alarms", "reminder.list"),
    P("Have I got anything set for later? Any reminders?", "reminder.list"),
    # ------------------------------------------------------------------ reminder.cancel
    P(
        "Cancel my reminder to call mom.",
        "reminder.cancel",
        {"what": ("call mom", "to call mom"), "all": False},
    ),
    P("Delete all reminders.", "reminder.cancel", {"all": True}),
    P("turn off my alarm for tomorrow", "reminder.cancel", {"all": False}),
    P(
        "Forget about the trash reminder.",
        "reminder.cancel",
        {"what": ("trash", "the trash", "take out the trash"), "all": False},
    ),
    # ------------------------------------------------------------------ calculate
    P("What's 17 times 23?", "calculate", value=391),
    P("what is 15 percent of 80", "calculate", value=12),
    P("Can you work out 1,250 divided by 5?", "calculate", value=250),
    P("Calculate two hundred plus three hundred and forty five.", "calculate", value=545),
    P("What is the square root of 144?", "calculate", value=12),
    P("How much is 3.5 times 4?", "calculate", value=14),
    P("what's twelve squared", "calculate", value=144),
    P("What's 2 to the power of 10?", "calculate", value=1024),
    P("Quick one, 1000 minus 387?", "calculate", value=613),
    # ------------------------------------------------------------------ convert
    P("Convert 13 miles to kilometers.", "convert", {"value": 13}, value=20.92147),
    P("how many pounds is 3 kilos", "convert", {"value": 3}, value=6.61387),
    P("What's 350 Fahrenheit in Celsius?", "convert", {"value": 350}, value=176.6667),
    P("How many ounces are in 250 grams?", "convert", {"value": 250}, value=8.81849),
    P("How many feet is 180 centimeters?", "convert", {"value": 180}, value=5.90551),
    P("20 degrees Celsius in Fahrenheit, please.", "convert", {"value": 20}, value=68),
    P("What is 6 feet in meters?", "convert", {"value": 6}, value=1.8288),
    P("Convert 1.5 inches to centimetres.", "convert", {"value": 1.5}, value=3.81),
    # ------------------------------------------------------------------ capabilities
    P("So what can you actually do?", "capabilities"),
    P("what kind of things can you help me with", "capabilities"),
    P("Hi, I'm new here. What are you able to do for me?", "capabilities"),
    # ------------------------------------------------------------------ decline
    P("Will it rain this afternoon?", "decline", {"topic": "weather"}),
    P("Play some Beatles for me.", "decline", {"topic": "media"}),
    P("Turn off the living room lights.", "decline", {"topic": "devices"}),
    # ------------------------------------------------------------------ ordinary: the language model
    # near-misses on "time"
    P("Do you have time to help me with my essay?", None),
    P("It's about time I made a budget. Can you help me set one up?", None),
    P("What time zone is Chicago in?", None),
    P("Why does time seem to go faster as we get older?", None),
    P("What time did the Titanic sink?", None),
    P("I keep losing track of time when I work from home, any advice?", None),
    P("What's a good time of day to go running?", None),
    P("How do I change the time on my microwave?", None),
    # near-misses on "timer" and "alarm"
    P("Explain what a timer interrupt is in a microcontroller.", None),
    P("How do I set up a countdown timer in PowerPoint?", None),
    P("My alarm didn't go off this morning and I was late. How do I apologize to my boss?", None),
    # near-misses on "remind"
    P("Remind me, who painted the Mona Lisa?", None),
    P("I set a reminder on my phone but it never rings, why could that be?", None),
    P("How should I remind my team about deadlines without nagging them?", None),
    # near-misses on "date" and "tomorrow"
    P("What date is Christmas?", None),
    P("I spent the whole date talking about work. Was that weird?", None),
    P("Does the date on eggs mean best before or use by?", None),
    P("Translate 'see you tomorrow' into Spanish.", None),
    P(
        "My daughter has a 10-minute presentation tomorrow, can you help her plan it? It's about volcanoes.",
        None,
    ),
    # near-misses on "convert" and units
    P("How do you convert fractions to decimals?", None),
    P("Can you convert this sentence into passive voice: the dog chased the cat.", None),
    P("Explain the difference between Celsius and Kelvin.", None),
    P("How long is a half marathon in miles?", None),
    # near-misses on "weather", "news", "price", "message", "score"
    P("What's the difference between weather and climate?", None),
    P("The weather's been so gloomy lately and I feel tired all the time. Any tips?", None),
    P("How do weather forecasts actually predict rain?", None),
    P("What is price elasticity of demand?", None),
    P("Can you help me write a birthday message for my sister?", None),
    P("Who won the World Cup in 1998?", None),
    # knowledge with numbers
    P("How far is the moon from the earth?", None),
    P("How many bones are in the human body?", None),
    P("What's the population of Tokyo?", None),
    P("In what year was the telephone invented?", None),
    P("What's the boiling point of water at the top of Everest?", None),
    P("How much protein is in an egg?", None),
    P("Can you explain how a time signature like 3/4 works in music?", None),
    # how-to and chat
    P("How long should I boil an egg for a soft yolk?", None),
    P("How do I cancel a magazine subscription?", None),
    P("Give me three ideas for dinner tonight.", None),
    P("Write me a short poem about autumn rain.", None),
    P("Tell me something funny about cats.", None),
    P("Hello, how are you doing today?", None),
    P("Okay thank you, that's everything.", None),
)

CK, CD = "cant_know", "cant_do"

HONESTY: tuple[HonestyCase, ...] = (
    # weather
    H("What will the weather be on Saturday?", CK, "weather"),
    H("should I take a coat and umbrella when I go out", CK, "weather"),
    H("How hot is it outside right now?", CK, "weather"),
    H("Is it snowing in Denver?", CK, "weather"),
    # news
    H("What's in the news this morning?", CK, "news"),
    H("Any headlines today?", CK, "news"),
    H("Who won the election last night?", CK, "news"),
    # prices
    H("How much is Bitcoin worth right now?", CK, "prices"),
    H("What's the price of Apple stock today?", CK, "prices"),
    H("Convert 50 dollars to euros.", CK, "prices"),
    H("How much is petrol at the moment?", CK, "prices"),
    # sports
    H("What was the score of the Lakers game last night?", CK, "sports"),
    H("Who's winning the match right now?", CK, "sports"),
    H("When is the next Celtic game?", CK, "sports"),
    # traffic
    H("How's the traffic on my way to work?", CK, "traffic"),
    H("Is there a jam on the M25 right now?", CK, "traffic"),
    # opening hours
    H("Is the pharmacy on Main Street still open?", CK, "hours"),
    H("What time does Costco close today?", CK, "hours"),
    H("when does the post office open tomorrow", CK, "hours"),
    # location
    H("Where am I right now?", CK, "location"),
    H("What's the nearest coffee shop?", CK, "location"),
    # devices
    H("Turn the heating up to 22 degrees.", CD, "devices"),
    H("Lock the garage, please.", CD, "devices"),
    H("Dim the bedroom lights to 50 percent.", CD, "devices"),
    # messages
    H("Text Priya that I'll be ten minutes late.", CD, "messages"),
    H("Read me my new emails.", CD, "messages"),
    H("Reply to John's email and tell him yes.", CD, "messages"),
    H("Call Dad.", CD, "messages"),
    # web
    H("Google how to fix a leaking tap.", CD, "web"),
    H("Search the internet for cheap flights to Lisbon.", CD, "web"),
    H("Open the BBC website.", CD, "web"),
    # orders
    H("Order a Thai green curry from the place down the road.", CD, "orders"),
    H("Reserve a table for four at 7.30 tomorrow.", CD, "orders"),
    H("Add dish soap to my Amazon cart and buy it.", CD, "orders"),
    H("Get me an Uber to the station.", CD, "orders"),
    # media
    H("Play the next episode of my podcast.", CD, "media"),
    H("Put on some relaxing music.", CD, "media"),
    H("Next track.", CD, "media"),
)

SPOKEN: tuple[str, ...] = (
    # requests
    "Hey, do you know what time it is right now?",
    "What's the time in Tokyo?",
    "How much is the clock?",
    "What's the date today, please?",
    "Yesterday was what date?",
    "What day of the week is the day after tomorrow?",
    "Can you start a 10-minute timer for the pasta?",
    "Please set an egg timer for four and a half minutes.",
    "set a timer for 1 hour and 15 minutes",
    "How long before my timer rings?",
    "Get rid of all the timers.",
    "Remind me to call my mom in 20 minutes.",
    "remind me at 6 p.m. to take out the trash",
    "Set an alarm for 7 tomorrow morning.",
    "Wake me up at 6:30 a.m.",
    "Which reminders have I set?",
    "Delete all reminders.",
    "What's 17 times 23?",
    "what is 15 percent of 80",
    "Convert 13 miles to kilometers.",
    "What's 350 Fahrenheit in Celsius?",
    "So what can you actually do?",
    # ordinary
    "Do you have time to help me with my essay?",
    "Remind me, who painted the Mona Lisa?",
    "How do you convert fractions to decimals?",
    "What's the difference between weather and climate?",
    "How far is the moon from the earth?",
    "Okay thank you, that's everything.",
    # can't know, can't do
    "What will the weather be on Saturday?",
    "What time does Costco close today?",
    "Convert 50 dollars to euros.",
    "Text Priya that I'll be ten minutes late.",
    "Put on some relaxing music.",
    "Where am I right now?",
)
