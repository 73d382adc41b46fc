enum _PlaceholderCaduceusExchange {}
