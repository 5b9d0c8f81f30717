"""The keeping-in-touch (KIT) meetings: what the forms of their steps hold."""
