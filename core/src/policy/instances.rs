//! Classes that are ordinary in a pickle only as instances rebuilt the way pickle rebuilds a
//! plain class: `cls.__new__(cls)` (NEWOBJ, or OBJ/INST without arguments) then BUILD, which for
//! these classes only updates the instance `__dict__`.
//!
//! Their constructors do real work (gensim's `Word2Vec(corpus_file=...)` reads a file and trains,
//! `LdaModel(distributed=True, ns_conf=...)` connects to a Pyro name server), so they are not on
//! the allowlist: a pickle that calls one with arguments (REDUCE), or passes the class anywhere,
//! keeps its `pickle.unknown-global` finding. Only a class that the pickle used purely to rebuild
//! instances has that finding lowered to `info` once the stream ends
//! ([`Machine::settle_instances`](crate::pickle)).
//!
//! An entry qualifies when neither the class nor a base defines `__new__` (other than
//! `namedtuple`'s, which only builds the tuple), `__setstate__`, `__reduce__`,
//! `__reduce_ex__`, `__getattr__` or `__setattr__`; each was read in the source named above its
//! group. Names are the ones real pickles carry, including classes that no longer exist (loading
//! those fails with an ImportError before anything runs).

/// Dotted paths of the classes on the instance-only list.
pub(crate) static INSTANCE_ONLY: &[&str] = &[
    // gensim models, read in gensim 4.4.0 (no class in gensim defines __new__, __setstate__ or
    // attribute hooks; utils.SaveLoad, the common base, only adds load/save methods). The names
    // are those of gensim's own test models (gensim/test/test_data/, saved by gensim 0.12 to 4.x)
    // and of their 3.x predecessors; SaveLoad.load then reads `.npy` side files named after the
    // model file with numpy's default allow_pickle=False.
    "gensim.corpora.dictionary.Dictionary",
    "gensim.models.atmodel.AuthorTopicModel",
    "gensim.models.atmodel.AuthorTopicState",
    "gensim.models.doc2vec.Doc2Vec",
    "gensim.models.doc2vec.Doc2VecTrainables",
    "gensim.models.doc2vec.Doc2VecVocab",
    "gensim.models.doc2vec.Doctag",
    "gensim.models.doc2vec.DocvecsArray",
    "gensim.models.ensemblelda.CBDBSCAN",
    "gensim.models.ensemblelda.Cluster",
    "gensim.models.ensemblelda.EnsembleLda",
    "gensim.models.ensemblelda.Topic",
    "gensim.models.fasttext.FastText",
    "gensim.models.fasttext.FastTextKeyedVectors",
    "gensim.models.fasttext.FastTextTrainables",
    "gensim.models.fasttext.FastTextVocab",
    "gensim.models.keyedvectors.CompatVocab",
    "gensim.models.keyedvectors.Doc2VecKeyedVectors",
    "gensim.models.keyedvectors.EuclideanKeyedVectors",
    "gensim.models.keyedvectors.FastTextKeyedVectors",
    "gensim.models.keyedvectors.KeyedVectors",
    "gensim.models.keyedvectors.Vocab",
    "gensim.models.keyedvectors.Word2VecKeyedVectors",
    "gensim.models.ldamodel.LdaModel",
    "gensim.models.ldamodel.LdaState",
    "gensim.models.ldamulticore.LdaMulticore",
    "gensim.models.ldaseqmodel.LdaSeqModel",
    "gensim.models.ldaseqmodel.sslm",
    "gensim.models.lsimodel.LsiModel",
    "gensim.models.lsimodel.Projection",
    "gensim.models.nmf.Nmf",
    "gensim.models.phrases.FrozenPhrases",
    "gensim.models.phrases.Phraser",
    "gensim.models.phrases.Phrases",
    "gensim.models.poincare.NegativesBuffer",
    "gensim.models.poincare.PoincareKeyedVectors",
    "gensim.models.poincare.PoincareModel",
    "gensim.models.tfidfmodel.TfidfModel",
    "gensim.models.word2vec.Vocab",
    "gensim.models.word2vec.Word2Vec",
    "gensim.models.word2vec.Word2VecTrainables",
    "gensim.models.word2vec.Word2VecVocab",
    "gensim.models.wrappers.fasttext.FastText",
    "gensim.models.wrappers.fasttext.FastTextKeyedVectors",
    // Morfessor 2.0.6 `morfessor/baseline.py` (gensim's VarEmbed loads a pickled BaselineModel):
    // plain classes, and ConstrNode, a namedtuple whose __new__ only builds the tuple.
    "morfessor.baseline.BaselineModel",
    "morfessor.baseline.ConstrNode",
    "morfessor.baseline.CorpusEncoding",
    "morfessor.baseline.FixedCorpusWeight",
    "morfessor.baseline.LexiconEncoding",
];
