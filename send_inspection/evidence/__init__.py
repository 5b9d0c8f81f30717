"""Evidence documents: the checks a machine can do before a person signs them off."""
