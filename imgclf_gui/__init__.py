"""imgclf: teach a computer to recognise your own kinds of images, locally."""

__version__ = "0.1.0"
