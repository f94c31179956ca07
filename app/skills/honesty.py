"""What an offline assistant cannot know or do, found before the LLM can invent it.

A 0.5B model asked for the weather describes some weather, and asked to turn on a lamp says it
did.  Requests on these topics get one short, true sentence instead (and, where it helps, what
Hearken can do instead).  Patterns run on ``spoken.normalize``d text, after the skills had
their turn ("turn off the timer" is a timer, not a device).
"""

from __future__ import annotations

import re

_DEVICES = (
    r"lights?|lamps?|bulbs?|tv|television|telly|heating|heater|fan|air ?conditioning|ac|aircon|thermostat|"
    r"radio|oven|stove|coffee (?:machine|maker)|kettle|dishwasher|washing machine|vacuum|roomba|"
    r"alarm system|sprinklers?|blinds|curtains|garage(?: door)?|door|plug|socket|speaker|computer|laptop|"
    r"wi-?fi|bluetooth|printer"
)

TOPICS: tuple[tuple[str, re.Pattern[str], str], ...] = tuple(
    (topic, re.compile(pattern), reply)
    for topic, pattern, reply in (
        (
            "weather",
            r"\b(?:weather|forecast|rain(?:ing|y)?|snow(?:ing)?|sunny|cloudy|storms?|windy|humid(?:ity)?|umbrella)\b"
            r"|\btemperature (?:outside|out there|today|tonight|tomorrow|this|in \w+)"
            r"|\bhow (?:hot|cold|warm|chilly) (?:is it|will it be)\b|\bdegrees outside\b",
            "I can't check the weather: I run offline, with no internet connection.",
        ),
        (
            "news",
            r"\b(?:news|headlines?|current events|breaking)\b|\bwhat(?:'s| is) happening (?:in|around) the world\b"
            r"|\bwhat happened (?:today|yesterday|this week) in\b|\belections?\b|\bvotes? count\b",
            "I can't get the news: I run offline, with no internet connection.",
        ),
        (
            "prices",
            r"\b(?:stocks?|share price|stock market|bitcoin|ethereum|crypto(?:currency)?|exchange rate|dow jones|"
            r"nasdaq|s&p|gas prices?|petrol price)\b|\bprice of\b|\bhow much (?:does|do|did|would|will) .+ cost\b"
            r"|\bhow much is (?:a|an|the|one) (?!\d).*\b(?:worth|cost|today|now)\b|\bwhat(?:'s| is) .+ trading at\b"
            r"|\bhow much is (?:a |one )?(?:dollar|euro|pound|yen|bitcoin)s? (?:worth|in)\b"
            r"|\bhow much (?:is|are|does|do) (?:the |a |one )?(?:petrol|gas|fuel|diesel|gold|silver|oil|eggs|milk|bread|"
            r"houses?|rent|an? \w+ ticket|a (?:litre|liter|gallon|pint|kilo|pound) of \w+)\b"
            r"|\b(?:convert|change) (?:\d+ )?(?:dollars?|euros?|pounds sterling|yen|pesos?|rupees?|francs?|yuan)\b"
            r"|\b(?:dollars?|euros?|yen|pesos?|rupees?) (?:to|in) (?:dollars?|euros?|pounds?|yen|pesos?|rupees?)\b",
            "I can't look up prices or rates: I run offline, so I have no live data.",
        ),
        (
            "sports",
            r"\bwho won\b|\bwho(?: is|'s) winning\b|\bwho(?: is|'s) (?:ahead|leading)\b|\bwhat(?:'s| is| was) the score\b|\bscores?\b|\bstandings\b"
            r"|\b(?:game|match|race|fight) (?:last night|today|tonight|yesterday)\b|\b(?:nba|nfl|nhl|mlb|premier league|"
            r"champions league|world cup|super bowl|playoffs?|formula 1|f1)\b|\bdid (?:the )?\w+ win\b"
            r"|\bwhen (?:do|does|is|are) (?:the )?[\w ]+ play(?:ing)?(?: next| tonight| today| again)?$"
            r"|\bnext (?:\w+ )?(?:game|match|fixture|race)\b",
            "I can't get scores or results: I run offline, with no internet connection.",
        ),
        (
            "devices",
            rf"\b(?:turn|switch|shut|power|put)(?: the| my| our| all the)? (?:on|off|up|down)\b.*\b(?:{_DEVICES})\b"
            rf"|\b(?:turn|switch|shut|power)(?: the| my| our| all the)? (?:[\w ]+ )?(?:{_DEVICES})(?: \w+)? (?:on|off)\b"
            rf"|\b(?:dim|brighten|lock|unlock|open|close|start|stop|set) (?:the |my |all the )?(?:[\w ]+ )?"
            rf"(?:lights?|lamps?|door|doors|garage(?: door)?|blinds|curtains|thermostat|heating|dishwasher|"
            rf"washing machine|vacuum|roomba|sprinklers?|oven)\b"
            r"|\b(?:make it|set it) (?:warmer|cooler|brighter|darker)\b|\bsmart home\b"
            r"|\bturn (?:the |my )?(?:heating|heat|thermostat|ac|air conditioning|temperature|lights?) (?:up|down)\b",
            "I can't control lights or other devices: I'm not connected to any.",
        ),
        (
            "messages",
            r"\b(?:send|write|read)(?: an?| my| the)? (?:text|message|messages|email|emails|e-mail|sms|whatsapp)\b"
            r"|\b(?:text|email|e-mail|message|whatsapp) (?!me\b)(?:my |to )?\w+\b(?! me)"
            r"|\b(?:call|phone|ring|dial|facetime|skype)(?! me\b)(?! it\b)(?! a (?:taxi|cab|uber))"
            r" (?:my |the |to )?(?:mom|mum|dad|mother|father|wife|husband|boss|doctor|office|friend|sister|brother|"
            r"grandma|grandpa|[a-z]+'s|\d+|[a-z]+)\b"
            r"|\bany (?:new )?(?:messages|emails|texts|calls)\b|\bcheck my (?:email|inbox|messages)\b"
            r"|\bread (?:me |out )?(?:my )?(?:new |latest |last )?(?:messages|emails|texts|mail|inbox)\b",
            "I can't send messages or make calls, but I can remind you to.",
        ),
        (
            "web",
            r"\b(?:search|google|look (?:it |that |this )?up|browse|check) (?:the web|the internet|online|on the internet)\b"
            r"|\bgoogle\b|\bsearch (?:for|the web|online)\b|\bopen (?:the )?(?:website|browser|youtube|google|"
            r"facebook|twitter|netflix|spotify|gmail|chrome|firefox)\b|\bwebsite\b|\bwikipedia\b|\bonline\b"
            r"|\bon the internet\b|\bdownload\b",
            "I can't search the web or open websites: I run offline.",
        ),
        (
            "orders",
            r"\b(?:order|buy|purchase|reserve|rent)(?: me| us)? (?:a |an |some |the |me |two |\d+ )?\w+"
            r"|\bbook (?:a|an|me|us|the|two|tickets?|\d+)\b|\b(?:get|call) (?:me |us )?(?:a |an )?(?:taxi|cab|uber|lyft|ride)\b"
            r"|\bmake (?:a |an )?(?:reservation|appointment|booking)\b|\bdeliver(?:y|ed)?\b|\btrack my (?:order|package|parcel)\b",
            "I can't order or book anything, but I can set you a reminder.",
        ),
        (
            "media",
            r"\bplay (?:me )?(?:some |a |the |my |that )?(?:music|songs?|playlist|album|podcast|video|videos|radio|movie|"
            r"film|audiobook|station|track|tune)\b|\bplay [\w ]+ (?:by|from) \w+|\bput on (?:some )?(?:music|a song|the radio)\b"
            r"|\b(?:skip|pause|resume) (?:this |the )?(?:song|track|music|video)\b|\b(?:next|previous) (?:song|track)\b"
            r"|\bvolume (?:up|down)\b|\bturn (?:it |the volume |the music )(?:up|down)\b"
            r"|^play (?!(?:a |some |the )?(?:game|games|chess|trivia|twenty questions|20 questions|word|along|with me|"
            r"pretend|a role|devil's advocate|nice|fair|dumb|hard to get)\b)\w+"
            r"|\bput on (?:some |the |a |my )?(?:\w+ )?(?:music|song|album|playlist|radio|podcast|movie|show)\b",
            "I can't play music or videos.",
        ),
        (
            "traffic",
            r"\btraffic\b|\bhow long (?:will it|does it|would it) take (?:me |us )?to (?:drive|get|walk|fly|commute)\b"
            r"|\bdirections to\b|\b(?:jam|tailback|roadworks|road closures?|accident|delays?) on (?:the )?\w+"
            r"|\bnavigate\b|\bfastest route\b|\bflight (?:status|delayed|on time)\b|\bis my (?:train|bus|flight)\b",
            "I can't check traffic, routes or timetables: I run offline.",
        ),
        (
            "hours",
            r"\bwhen (?:does|do|will) (?:the )?[\w' ]+ (?:open|close)\b|\bis (?:the )?[\w' ]+ (?:still )?open "
            r"(?:now|today|tonight|right now|on \w+)\b|\bis (?:the )?[\w' ]+ (?:still )?open$|\bopening (?:hours|times)\b|\bwhat time (?:does|do) (?:the )?[\w' ]+ "
            r"(?:open|close)\b",
            "I can't look up opening hours: I run offline.",
        ),
        (
            "location",
            r"\bwhere am i\b|\bwhich (?:town|city|country|street|place) am i in\b|\b(?:near|nearby|closest|nearest) (?:me|here)\b|\bnearest\b|\bnear me\b|\bmy location\b",
            "I don't know where you are: I run offline, with no location.",
        ),
    )
)


# Questions about a topic, not for live data or an action: "how do weather forecasts work?",
# "what's the difference between a stock and a bond?", "who won the World Cup in 2010?",
# "help me write a text to my boss".  These are the LLM's to answer.
_ABOUT = re.compile(
    r"^(?:how (?:do|does|did|can|could|should|would) (?!i get to\b)|why |what(?:'s| is| are) the difference|explain"
    r"|what (?:is|are) (?:a|an) (?!\w+ (?:price|score)s?\b)|what does \w+ mean|(?:help me |how to )(?:write|draft|word)"
    r"|(?:can you |could you )?help me (?:write|draft|word|phrase)|write (?:me )?(?:a|an) |tell me about the history"
    r"|what is the history|who invented|is \w+ the same (?:thing )?as|what should i (?:say|write)|"
    r"what(?:'s| is) a (?:nice|good|kind) (?:message|text|thing) to)"
    r"|\b(?:message|note|text) to write\b"
    r"|\b(?:why|any tips|tips|advice|how can i|how do i)\b"
    r"|\b(?:in|of|from) (?:1[5-9]\d\d|20[01]\d|202[0-5])\b"  # a year that is history, not live
)


# A request or a question starts like one; a statement that mentions rain ("Thunderstorms could
# produce large hail..." - the selftest's recording) is conversation, not a weather request.
_ASKS = re.compile(
    r"^(?:what|what's|whats|how|how's|when|where|who|who's|which|whose|why|will|would|is|isn't|are|was|were|do|"
    r"does|did|can|could|should|shall|may|tell|give|check|show|find|get|turn|switch|shut|power|put|set|play|"
    r"pause|skip|resume|read|send|write|text|call|phone|ring|dial|email|e-mail|message|whatsapp|open|search|"
    r"google|look|browse|download|book|order|buy|purchase|reserve|rent|dim|brighten|lock|unlock|close|start|"
    r"stop|make|any|navigate|directions|volume|next|previous|i need|i want|i'd like|let me|let's|convert|change|"
    r"track|reply|respond|add|have|has|remind|the (?:weather|forecast|news|headlines|score|traffic|price|latest)|"
    r"weather|forecast|news|headlines|traffic|score|scores|latest|current|today's|tonight's|tomorrow's)\b"
)


def cannot(text: str) -> tuple[str, str] | None:
    """(topic, reply) if normalized ``text`` asks for something Hearken cannot know or do."""
    if _ABOUT.search(text) or len(text.split()) > 16:  # a story or a question about the topic
        return None
    if not _ASKS.match(text):
        return None
    for topic, pattern, reply in TOPICS:
        if pattern.search(text):
            return topic, reply
    return None
