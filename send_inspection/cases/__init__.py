"""The children the inspectors choose to track, known to the engine by case id only."""
