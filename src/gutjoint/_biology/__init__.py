"""What the system is: states, parameters with units and provenance, causal links, rate laws."""
