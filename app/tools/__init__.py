"""Measuring tools, kept out of the product's top level: ``hearken bench`` (voice-to-voice against a
plain cascade), the lever studies behind docs/bench.md, the probes, the emotion evaluation.  The CLI
reaches them through lazy imports; nothing in the product imports them."""
