"""metal-images: build, prove, publish and mirror metal-stack OS images."""

__version__ = "0.1.0"
