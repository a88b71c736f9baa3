"""How to integrate: code generation, stiff integration, steady states. No biology names here."""
