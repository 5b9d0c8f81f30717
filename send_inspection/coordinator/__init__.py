"""Every coordinator action as one function, shared by the console and the command line, each one audited."""
