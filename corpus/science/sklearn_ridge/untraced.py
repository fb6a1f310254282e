# Not traced: a decision tree (sklearn.tree's extension modules) and a k-means clustering.
from sklearn.tree import DecisionTreeRegressor
from sklearn.cluster import KMeans

tree = DecisionTreeRegressor(max_depth=2, random_state=0).fit(X, y)
print("tree", np.round(tree.predict([[1.5, 1.0]]), 4).tolist())
labels = KMeans(n_clusters=2, n_init=3, random_state=0).fit_predict(X)
print("clusters", len(set(labels.tolist())))
