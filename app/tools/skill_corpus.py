"""The labelled requests ``python -m app.tools.skill_eval`` scores the skill router on.

Written as people talk to a desktop assistant, and as Whisper tiny.en writes it down: numbers
as words and as digits, a trailing full stop, capitals, "p.m.", fillers ("um", "hey, could
you"), and a few of its usual mishearings ("set it timer", "set a time for").  Written for this
project, blind to the router it measures (issue 13), so it is a held-out set.

``PHRASINGS``: what each request should route to (``expect``: a skill name, or None for an
ordinary question the language model answers) and the arguments that are checked (a subset of
what the router returns; a tuple lists acceptable values, numbers compare within 0.5, strings
compare without case or punctuation).  ``value``: the answer a calculation or conversion must
give, within 0.5 %.

``HONESTY``: what an offline assistant cannot know (live weather, news, prices, scores, traffic,
opening hours) or cannot do (devices, messages, the web, orders, media): each must be declined
honestly, never answered by the language model as if it knew or had done it.

``SPOKEN``: the texts the spoken evaluation synthesizes (piper and espeak-ng) and hears back
through Whisper; each is the text of one item of ``PHRASINGS`` or ``HONESTY``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.skills.router import NAMES

SKILL_NAMES: tuple[str, ...] = NAMES  # the router's names are the labels' names

DECLINE_TOPICS: tuple[str, ...] = (
    "weather",
    "news",
    "prices",
    "sports",
    "devices",
    "messages",
    "web",
    "orders",
    "media",
    "traffic",
    "hours",
)

HONESTY_KINDS: tuple[str, ...] = ("cant_know", "cant_do")


@dataclass(frozen=True)
class Phrasing:
    text: str
    expect: str | None  # a name of SKILL_NAMES, or None: the language model answers
    args: Mapping[str, Any] = field(default_factory=dict)  # the arguments checked
    value: float | None = None  # the number a calculation or conversion must give


@dataclass(frozen=True)
class HonestyCase:
    text: str
    kind: str  # cant_know | cant_do
    topic: str  # one of DECLINE_TOPICS


P = Phrasing
EITHER_630 = ("06:30", "18:30")

PHRASINGS: tuple[Phrasing, ...] = (
    # ------------------------------------------------------------------ time
    P("what time is it", "time", {"place": None}),
    P("What's the time now.", "time", {"place": None}),
    P("Hey, could you tell me what time it is please?", "time", {"place": None}),
    P("um, what time is it right now", "time", {"place": None}),
    P("Time, please.", "time", {"place": None}),
    P("got the time?", "time", {"place": None}),
    P("What time is it in Tokyo?", "time", {"place": "tokyo"}),
    P("what's the time in new york", "time", {"place": "new york"}),
    P("Do you know what time it is in London right now?", "time", {"place": "london"}),
    P("What time is it over in Sydney?", "time", {"place": "sydney"}),
    # ------------------------------------------------------------------ date
    P("what's the date", "date", {"day_offset": 0}),
    P("What's today's date?", "date", {"day_offset": 0}),
    P("what day is it today", "date", {"day_offset": 0}),
    P("um, what day of the week is it", "date", {"day_offset": 0}),
    P("Could you tell me the date, please?", "date", {"day_offset": 0}),
    P("What day is it tomorrow?", "date", {"day_offset": 1}),
    P("what's the date tomorrow", "date", {"day_offset": 1}),
    P("What was the date yesterday?", "date", {"day_offset": -1}),
    P("what's the date the day after tomorrow", "date", {"day_offset": 2}),
    # ------------------------------------------------------------------ timers
    P("set a timer for five minutes", "timer.set", {"seconds": 300, "label": ""}),
    P("Set a timer for 5 minutes.", "timer.set", {"seconds": 300, "label": ""}),
    P("set a pasta timer for ten minutes", "timer.set", {"seconds": 600, "label": "pasta"}),
    P("set it timer for five minutes", "timer.set", {"seconds": 300}),  # Whisper: "a" -> "it"
    P("Set a time for five minutes.", "timer.set", {"seconds": 300}),  # Whisper drops the r
    P("A timer for 30 seconds.", "timer.set", {"seconds": 30}),
    P("timer ten minutes", "timer.set", {"seconds": 600}),
    P(
        "Hey, could you set a timer for two and a half minutes please?",
        "timer.set",
        {"seconds": 150, "label": ""},
    ),
    P("start a 20 minute timer", "timer.set", {"seconds": 1200}),
    P("Set an egg timer for 7 minutes.", "timer.set", {"seconds": 420, "label": "egg"}),
    P("um, can you put a timer on for an hour and fifteen minutes", "timer.set", {"seconds": 4500}),
    P("set a timer for 1 hour 30 minutes", "timer.set", {"seconds": 5400}),
    P("Set a timer for 45 seconds.", "timer.set", {"seconds": 45}),
    P("start a countdown for three minutes", "timer.set", {"seconds": 180}),
    P("set a timer for half an hour called laundry", "timer.set", {"seconds": 1800, "label": "laundry"}),
    P("Set a 10-minute timer for the tea.", "timer.set", {"seconds": 600, "label": "tea"}),
    P("set a timer for a minute and a half", "timer.set", {"seconds": 90}),
    P("Please set a timer for twenty-five minutes.", "timer.set", {"seconds": 1500}),
    P("set timer 90 seconds", "timer.set", {"seconds": 90}),
    P("Set a timer for 3 minutes and 20 seconds.", "timer.set", {"seconds": 200}),
    P("how much time is left on my timer", "timer.remaining", {"label": ""}),
    P("How long is left on the pasta timer?", "timer.remaining", {"label": "pasta"}),
    P("how much longer on the timer?", "timer.remaining", {"label": ""}),
    P("What's left on the timer.", "timer.remaining", {"label": ""}),
    P("hey, how long until my egg timer goes off", "timer.remaining", {"label": "egg"}),
    P("cancel the timer", "timer.cancel", {"label": "", "all": False}),
    P("Stop the pasta timer.", "timer.cancel", {"label": "pasta", "all": False}),
    P("cancel all timers", "timer.cancel", {"all": True}),
    P("Cancel all my timers, please.", "timer.cancel", {"all": True}),
    P("never mind, cancel the egg timer", "timer.cancel", {"label": "egg", "all": False}),
    P("Turn off the timer.", "timer.cancel", {"label": "", "all": False}),
    # ------------------------------------------------------------------ reminders and alarms
    P(
        "remind me in ten minutes to check the oven",
        "reminder.set",
        {"what": "check the oven", "delay_s": 600, "at": None},
    ),
    P("Remind me to call my mom at 6 p.m.", "reminder.set", {"what": "call my mom", "at": "18:00"}),
    P("wake me up at six thirty", "reminder.set", {"at": EITHER_630, "delay_s": None}),
    P("Set an alarm for 7 a.m.", "reminder.set", {"at": "07:00"}),
    P("set an alarm for 7:30 tomorrow morning", "reminder.set", {"at": "07:30", "day_offset": 1}),
    P(
        "remind me tomorrow at 9 to take out the bins",
        "reminder.set",
        {"what": "take out the bins", "at": ("09:00", "21:00"), "day_offset": 1},
    ),
    P("Remind me in an hour to stretch.", "reminder.set", {"what": "stretch", "delay_s": 3600}),
    P(
        "remind me in half an hour to move the laundry",
        "reminder.set",
        {"what": "move the laundry", "delay_s": 1800},
    ),
    P(
        "Hey, can you remind me to water the plants in 20 minutes?",
        "reminder.set",
        {"what": "water the plants", "delay_s": 1200},
    ),
    P("remind me at 3 pm to call the dentist", "reminder.set", {"what": "call the dentist", "at": "15:00"}),
    P("Wake me up at 6:45 a.m. tomorrow.", "reminder.set", {"at": "06:45", "day_offset": 1}),
    P("set an alarm for quarter past seven", "reminder.set", {"at": ("07:15", "19:15")}),
    P(
        "remind me to take my medicine at 8 tonight",
        "reminder.set",
        {"what": "take my medicine", "at": "20:00", "day_offset": 0},
    ),
    P(
        "Remind me in 2 hours to pick up the kids.",
        "reminder.set",
        {"what": "pick up the kids", "delay_s": 7200},
    ),
    P(
        "set a reminder for 5 o'clock to leave for the train",
        "reminder.set",
        {"what": "leave for the train", "at": ("05:00", "17:00")},
    ),
    P("please remind me in five minutes that the tea is ready", "reminder.set", {"delay_s": 300}),
    P("Alarm at 6 a.m. please.", "reminder.set", {"at": "06:00"}),
    P("remind me at noon to eat lunch", "reminder.set", {"what": "eat lunch", "at": "12:00"}),
    P("what reminders do I have", "reminder.list"),
    P("Do I have any alarms set?", "reminder.list"),
    P("show me my reminders please", "reminder.list"),
    P("What are my reminders for today?", "reminder.list"),
    P("cancel my reminder to call my mom", "reminder.cancel", {"what": "call my mom", "all": False}),
    P("Delete all my reminders.", "reminder.cancel", {"all": True}),
    P("cancel my alarm", "reminder.cancel", {"all": False}),
    P("Turn off my alarm.", "reminder.cancel", {"all": False}),
    P("forget about the dentist reminder", "reminder.cancel", {"all": False}),
    P("clear all alarms", "reminder.cancel", {"all": True}),
    # ------------------------------------------------------------------ arithmetic
    P("what's 12 times 13", "calculate", value=156),
    P("What is 15% of 80?", "calculate", value=12),
    P("what's the square root of 144", "calculate", value=12),
    P("how much is 250 divided by 4", "calculate", value=62.5),
    P("What's seven times eight?", "calculate", value=56),
    P("calculate 3 to the power of 5", "calculate", value=243),
    P("what is 1,250 minus 375", "calculate", value=875),
    P("um, what's twenty five squared", "calculate", value=625),
    P("What's 3.5 times 4?", "calculate", value=14),
    P("hey what is a hundred and twenty divided by eight", "calculate", value=15),
    P("what's 18 percent of 45", "calculate", value=8.1),
    P("What is 17 plus 25?", "calculate", value=42),
    P("What's 9 times 7?", "calculate", value=63),
    P("What is 100 divided by 7?", "calculate", value=100 / 7),
    P("what's 45 plus 37 minus 12", "calculate", value=70),
    # ------------------------------------------------------------------ unit conversion
    P("convert 5 miles to kilometers", "convert", {"value": 5}, value=8.04672),
    P("How many centimeters is 6 feet?", "convert", {"value": 6}, value=182.88),
    P("what's 100 fahrenheit in celsius", "convert", {"value": 100}, value=37.7778),
    P("Convert 20 degrees Celsius to Fahrenheit.", "convert", {"value": 20}, value=68),
    P("how many grams in 3 ounces", "convert", {"value": 3}, value=85.0486),
    P("How many ounces are in a pound?", "convert", {"value": 1}, value=16),
    P("convert 10 kilograms to pounds", "convert", {"value": 10}, value=22.0462),
    P("how many meters in a mile", "convert", {"value": 1}, value=1609.344),
    P("what's 30 km in miles", "convert", {"value": 30}, value=18.6411),
    P("Convert 72 inches to feet, please.", "convert", {"value": 72}, value=6),
    P("How many pounds is 65 kilos?", "convert", {"value": 65}, value=143.3),
    P("What is 5 foot 10 in centimeters?", "convert", value=177.8),
    P("Convert 5 km to miles.", "convert", {"value": 5}, value=3.10686),
    # ------------------------------------------------------------------ what it can do
    P("what can you do", "capabilities"),
    P("What can you help me with?", "capabilities"),
    P("hey, what kind of things can you do for me", "capabilities"),
    P("What skills do you have?", "capabilities"),
    P("what can I ask you?", "capabilities"),
    # ------------------------------------------------------------------ honest declines (near-misses)
    P("what's the weather going to be like tomorrow", "decline", {"topic": "weather"}),
    P("Turn off the kitchen lights.", "decline", {"topic": "devices"}),
    P("play some music", "decline", {"topic": "media"}),
    P("what's the price of bitcoin", "decline", {"topic": "prices"}),
    P("convert 100 dollars to euros", "decline", {"topic": "prices"}),
    P("What time does the supermarket open?", "decline", {"topic": "hours"}),
    P("book a table for two at 8 tonight", "decline", {"topic": "orders"}),
    P("set the thermostat to 21 degrees", "decline", {"topic": "devices"}),
    # ------------------------------------------------------------------ ordinary: the model answers
    P("what is the capital of France", None),
    P("Tell me a joke.", None),
    P("I set the table for dinner yesterday", None),
    P("what time complexity does quicksort have", None),
    P("My timer app is broken, any advice?", None),
    P("I need to remind myself to be patient", None),
    P("how do I convert a PDF to Word", None),
    P("What is the history of the calendar?", None),
    P("what's a good time to plant tomatoes?", None),
    P("How long should I boil an egg?", None),
    P("how many minutes should I cook rice for", None),
    P("What's the date of the French Revolution?", None),
    P("who invented the alarm clock", None),
    P("Why do I always wake up at 3 a.m.?", None),
    P("can you explain how a kitchen timer works", None),
    P("I'm converting my garage into an office, any tips?", None),
    P("What time period did the dinosaurs live in?", None),
    P("how do weather forecasts work?", None),
    P("How do I write a good news article?", None),
    P("who won the World Cup in 2010?", None),
    P("how do smart light bulbs work", None),
    P("What's the difference between a stock and a bond?", None),
    P("can you help me write a text to my boss saying I'm sick", None),
    P("Can you remind me what we were talking about?", None),
    P("how do I set an alarm on my iPhone?", None),
    P("In ten minutes I have to leave, what should I wear?", None),
    P("it's five o'clock somewhere, right?", None),
    P("explain time dilation simply", None),
    P("How many legs does a spider have?", None),
    P("how many calories are in a banana", None),
    P("What's the best way to convert Celsius to Fahrenheit in my head?", None),
    P("My alarm didn't go off this morning and I was late.", None),
    P("why does time seem to go faster as you get older", None),
    P("Can you do a British accent?", None),
    P("give me three ideas for a birthday party", None),
    P("I'm feeling a bit stressed today.", None),
    P("what's the meaning of life", None),
    P("Thanks, that's all for now.", None),
    P("summarize the plot of Hamlet", None),
)

H = HonestyCase

HONESTY: tuple[HonestyCase, ...] = (
    # cannot know: nothing live reaches an offline assistant
    H("What's the weather like in New York?", "cant_know", "weather"),
    H("is it going to rain tomorrow", "cant_know", "weather"),
    H("Do I need an umbrella today?", "cant_know", "weather"),
    H("what's the temperature outside right now", "cant_know", "weather"),
    H("Hey, what's the forecast for the weekend?", "cant_know", "weather"),
    H("what's in the news today", "cant_know", "news"),
    H("Give me the latest headlines.", "cant_know", "news"),
    H("any news about the election?", "cant_know", "news"),
    H("How much is a bitcoin worth right now?", "cant_know", "prices"),
    H("what's Apple's stock price", "cant_know", "prices"),
    H("What's the exchange rate from euros to dollars?", "cant_know", "prices"),
    H("how much does an iPhone cost at the moment", "cant_know", "prices"),
    H("Who won the game last night?", "cant_know", "sports"),
    H("what's the score in the Lakers game", "cant_know", "sports"),
    H("When do Arsenal play next?", "cant_know", "sports"),
    H("how's the traffic on the way to work", "cant_know", "traffic"),
    H("How long will it take me to drive downtown right now?", "cant_know", "traffic"),
    H("When does the pharmacy close today?", "cant_know", "hours"),
    H("is the post office open on Saturday", "cant_know", "hours"),
    H("What time does Target open?", "cant_know", "hours"),
    # cannot do: it reaches no device, account or network
    H("Turn on the lamp.", "cant_do", "devices"),
    H("Would you please turn on the living room lamp?", "cant_do", "devices"),
    H("turn off the lights in the bedroom", "cant_do", "devices"),
    H("Set the thermostat to 70 degrees.", "cant_do", "devices"),
    H("dim the lights to 50 percent", "cant_do", "devices"),
    H("Lock the front door.", "cant_do", "devices"),
    H("turn the TV on", "cant_do", "devices"),
    H("Can you turn up the heating a bit?", "cant_do", "devices"),
    H("Send a text to Sarah saying I'm running late.", "cant_do", "messages"),
    H("call mom", "cant_do", "messages"),
    H("email my boss that I'll be late", "cant_do", "messages"),
    H("Read me my new messages.", "cant_do", "messages"),
    H("search the web for cheap flights to Rome", "cant_do", "web"),
    H("Google how tall the Eiffel Tower is.", "cant_do", "web"),
    H("open YouTube", "cant_do", "web"),
    H("Look up reviews of the new Italian place online.", "cant_do", "web"),
    H("order me a large pepperoni pizza", "cant_do", "orders"),
    H("Book a table for two at eight tonight.", "cant_do", "orders"),
    H("get me an Uber to the airport", "cant_do", "orders"),
    H("Buy more paper towels on Amazon.", "cant_do", "orders"),
    H("book a flight to London next Friday", "cant_do", "orders"),
    H("Play some jazz.", "cant_do", "media"),
    H("play the latest episode of my podcast", "cant_do", "media"),
    H("Put on some relaxing music, please.", "cant_do", "media"),
    H("skip this song", "cant_do", "media"),
    H("Play the new Taylor Swift video.", "cant_do", "media"),
)

SPOKEN: tuple[str, ...] = (
    # phrasings (40)
    "what time is it",
    "What time is it in Tokyo?",
    "Do you know what time it is in London right now?",
    "What's today's date?",
    "What day is it tomorrow?",
    "What was the date yesterday?",
    "set a timer for five minutes",
    "set a pasta timer for ten minutes",
    "Hey, could you set a timer for two and a half minutes please?",
    "Set an egg timer for 7 minutes.",
    "set a timer for 1 hour 30 minutes",
    "Set a timer for 45 seconds.",
    "How long is left on the pasta timer?",
    "how much time is left on my timer",
    "cancel all timers",
    "Stop the pasta timer.",
    "remind me in ten minutes to check the oven",
    "Remind me to call my mom at 6 p.m.",
    "wake me up at six thirty",
    "Set an alarm for 7 a.m.",
    "remind me tomorrow at 9 to take out the bins",
    "Remind me in 2 hours to pick up the kids.",
    "what reminders do I have",
    "Delete all my reminders.",
    "what's 12 times 13",
    "What is 15% of 80?",
    "what's the square root of 144",
    "how much is 250 divided by 4",
    "convert 5 miles to kilometers",
    "How many centimeters is 6 feet?",
    "Convert 20 degrees Celsius to Fahrenheit.",
    "what can you do",
    "I set the table for dinner yesterday",
    "My timer app is broken, any advice?",
    "I need to remind myself to be patient",
    "how do I convert a PDF to Word",
    "How long should I boil an egg?",
    "who invented the alarm clock",
    "Can you remind me what we were talking about?",
    "What's the date of the French Revolution?",
    # honesty (16)
    "What's the weather like in New York?",
    "is it going to rain tomorrow",
    "Give me the latest headlines.",
    "How much is a bitcoin worth right now?",
    "Who won the game last night?",
    "how's the traffic on the way to work",
    "What time does Target open?",
    "Turn on the lamp.",
    "Would you please turn on the living room lamp?",
    "Set the thermostat to 70 degrees.",
    "Send a text to Sarah saying I'm running late.",
    "search the web for cheap flights to Rome",
    "order me a large pepperoni pizza",
    "Book a table for two at eight tonight.",
    "Play some jazz.",
    "call mom",
)
