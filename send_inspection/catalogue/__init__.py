"""What an inspection is made of, each declared once: its phases and the kinds of step staff answer."""
