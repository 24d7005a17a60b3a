"""The VM proof behind `metal-images test`: the hammer emulation installs an image, the VM
parts boot it against a switch, the checks run over SSH. This package joins them; hammer/
and vm/ know nothing of each other."""
