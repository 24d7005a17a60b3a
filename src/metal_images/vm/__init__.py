"""Boot an installed disk as kexec would, behind a switch made of a network namespace."""
